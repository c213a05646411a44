// A tag of the app's own named like one of the envelope's fixed tags is left out: the fixed
// ones identify the app and the metric type, which Firehose consumers select on. The tags that
// are the same for every metric of an instance (origin, the app and the instance) are encoded
// once per instance and copied into each envelope; one vector of tag views is reused for the
// rest, and the parcel's room is made once per push, so a push costs no allocation per metric.
#include "push_envelopes.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "envelope_encoding.hpp"

namespace mgw::loggregator {

namespace {

constexpr std::array<std::string_view, 5> fixed_tags{
    "type", "origin", "applicationGuid", "applicationInstance", "applicationInstanceIndex"};

bool is_fixed(std::string_view key) {
    for (std::string_view fixed : fixed_tags) {
        if (key == fixed) {
            return true;
        }
    }
    return false;
}

// v2 counters are uint64: a counter sent as a JSON float is truncated (it cannot be negative:
// the push decoder refuses that).
std::uint64_t counter_total(const push::pushed_metric& m) {
    if (m.integer_value) {
        return static_cast<std::uint64_t>(*m.integer_value);
    }
    if (!(m.value > 0)) {
        return 0;
    }
    if (m.value >= 18446744073709551616.0) {
        return std::numeric_limits<std::uint64_t>::max();
    }
    return static_cast<std::uint64_t>(m.value);
}

}  // namespace

void append_push_envelopes(parcel& out, std::string_view app_guid,
                           const push::push_request& request, std::int64_t wall_ms,
                           counter_envelope counters) {
    out.source = envelope_source::push;
    out.sizes.reserve(out.sizes.size() + request.metric_count);
    std::vector<envelope_tag> tags;
    std::string instance_tags;
    std::size_t encoded = 0;
    for (const push::pushed_application& app : request.applications) {
        for (const push::pushed_instance& instance : app.instances) {
            // Written after each metric's own tags and `type`, in the Metrics Forwarder's order.
            std::array<envelope_tag, 4> fixed;
            std::size_t n = 0;
            fixed[n++] = {"origin", push_origin};
            fixed[n++] = {"applicationGuid", app_guid};
            if (!instance.id.empty()) {
                fixed[n++] = {"applicationInstance", instance.id};
            }
            fixed[n++] = {"applicationInstanceIndex", instance.index};
            instance_tags.clear();
            append_tag_entries(instance_tags, std::span(fixed).first(n));
            for (const push::pushed_metric& m : instance.metrics) {
                tags.clear();
                for (const auto& [key, value] : m.tags) {
                    if (!is_fixed(key)) {
                        tags.push_back({key, value});
                    }
                }
                tags.push_back({"type", push::to_string(m.type)});
                const envelope_header header{
                    .timestamp_ns = nanoseconds_of_milliseconds(m.timestamp_ms.value_or(wall_ms)),
                    .source_id = app_guid,
                    .instance_id = instance.index,
                    .tags = tags};
                std::size_t size = 0;
                if (m.type == push::pushed_type::counter && counters == counter_envelope::counter) {
                    size = append_counter_envelope(out.bytes, header, m.original_name, 0,
                                                   counter_total(m), instance_tags);
                } else {
                    const gauge_metric metric{m.original_name, m.unit, m.value};
                    size = append_gauge_envelope(out.bytes, header, {&metric, 1}, instance_tags);
                }
                out.add(size);
                if (++encoded == 1 && request.metric_count > 1) {
                    // The metrics of one push look alike: room for the rest like the first (and
                    // an eighth more for longer names and tags), made once instead of the bytes
                    // doubling their way up with a copy each time.
                    const std::size_t rest = size * (request.metric_count - 1);
                    out.bytes.reserve(out.bytes.size() + rest + rest / 8);
                }
            }
        }
    }
}

}  // namespace mgw::loggregator
