// A tag of the app's own named like one of the envelope's fixed tags is left out: the fixed
// ones identify the app and the metric type, which Firehose consumers select on. One vector of
// tag views is reused for every metric, so a push costs no allocation per metric beyond the
// parcel's growth.
#include "push_envelopes.hpp"

#include <array>
#include <cmath>
#include <limits>
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
    for (const push::pushed_application& app : request.applications) {
        for (const push::pushed_instance& instance : app.instances) {
            for (const push::pushed_metric& m : instance.metrics) {
                tags.clear();
                for (const auto& [key, value] : m.tags) {
                    if (!is_fixed(key)) {
                        tags.push_back({key, value});
                    }
                }
                tags.push_back({"type", push::to_string(m.type)});
                tags.push_back({"origin", push_origin});
                tags.push_back({"applicationGuid", app_guid});
                if (!instance.id.empty()) {
                    tags.push_back({"applicationInstance", instance.id});
                }
                tags.push_back({"applicationInstanceIndex", instance.index});
                const envelope_header header{
                    .timestamp_ns = nanoseconds_of_milliseconds(m.timestamp_ms.value_or(wall_ms)),
                    .source_id = app_guid,
                    .instance_id = instance.index,
                    .tags = tags};
                if (m.type == push::pushed_type::counter && counters == counter_envelope::counter) {
                    out.add(append_counter_envelope(out.bytes, header, m.original_name, 0,
                                                    counter_total(m)));
                } else {
                    const gauge_metric metric{m.original_name, m.unit, m.value};
                    out.add(append_gauge_envelope(out.bytes, header, {&metric, 1}));
                }
            }
        }
    }
}

}  // namespace mgw::loggregator
