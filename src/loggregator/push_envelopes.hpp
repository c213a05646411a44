// Loggregator module: an accepted Metrics Forwarder push as the envelopes the PCF Metrics
// Forwarder emitted for it (Metrics Forwarder for PCF, tile docs v1.11): one v2 Gauge per metric
// with source_id = the app GUID, instance_id = the instance index, the metric's name and unit
// as sent, tags type (gauge|counter), origin metrics-forwarder, applicationGuid,
// applicationInstance, applicationInstanceIndex and the metric's own tags. Counters may be v2
// Counter envelopes with `total` instead (loggregator.counters: counter). Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <mgw/push/push_request.hpp>

#include "envelope_queue.hpp"

namespace mgw::loggregator {

enum class counter_envelope {
    gauge,    // as the Metrics Forwarder: a Gauge tagged type=counter (v1 ValueMetric)
    counter,  // a Counter with total = the value (v1 CounterEvent)
};

// The `origin` tag the Metrics Forwarder's envelopes carried.
inline constexpr std::string_view push_origin = "metrics-forwarder";

// No push envelope is smaller: each carries the app GUID as source_id and applicationGuid, and
// the tags type and origin. A queue with less room than this would drop a whole push.
inline constexpr std::size_t min_push_envelope_bytes = 128;

// Appends one envelope per metric of `request` to `out` (whose source is set to push).
// `app_guid` is the binding's app (every application of the request is that app). Metrics
// without a timestamp get `wall_ms`.
void append_push_envelopes(parcel& out, std::string_view app_guid,
                           const push::push_request& request, std::int64_t wall_ms,
                           counter_envelope counters);

}  // namespace mgw::loggregator
