// The forwarder's unit table (src/pkg/mapper/map.go) by exact name; the metric's own
// timestamp and tags are not carried, as in the original (the envelope has the heartbeat's).
#include "bosh_envelopes.hpp"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "envelope_encoding.hpp"

namespace mgw::loggregator {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 15> units{{
    {"system.healthy", "b"},
    {"system.load.1m", "Load"},
    {"system.cpu.user", "Load"},
    {"system.cpu.sys", "Load"},
    {"system.cpu.wait", "Load"},
    {"system.mem.percent", "Percent"},
    {"system.swap.percent", "Percent"},
    {"system.disk.system.percent", "Percent"},
    {"system.disk.system.inode_percent", "Percent"},
    {"system.disk.ephemeral.percent", "Percent"},
    {"system.disk.ephemeral.inode_percent", "Percent"},
    {"system.disk.persistent.percent", "Percent"},
    {"system.disk.persistent.inode_percent", "Percent"},
    {"system.mem.kb", "Kb"},
    {"system.swap.kb", "Kb"},
}};

}  // namespace

std::string_view heartbeat_unit(std::string_view metric_name) {
    for (const auto& [name, unit] : units) {
        if (name == metric_name) {
            return unit;
        }
    }
    return {};
}

void append_heartbeat_envelope(parcel& out, const bosh::hm_heartbeat& heartbeat,
                               std::string_view ip_tag) {
    out.source = envelope_source::bosh;
    std::vector<envelope_tag> tags{
        {"job", heartbeat.job},
        {"index", heartbeat.instance_id},
        {"id", heartbeat.instance_id},
        {"origin", bosh_origin},
        {"deployment", heartbeat.deployment},
    };
    if (!ip_tag.empty()) {
        tags.push_back({"ip", ip_tag});
    }
    std::vector<gauge_metric> metrics;
    metrics.reserve(heartbeat.metrics.size());
    for (const bosh::hm_metric& m : heartbeat.metrics) {
        metrics.push_back({m.name, heartbeat_unit(m.name), m.value});
    }
    const envelope_header header{
        .timestamp_ns = nanoseconds_of_seconds(heartbeat.timestamp),
        .source_id = {},  // the agent fills it from tags.origin, as for the original
        .instance_id = {},
        .tags = tags};
    out.add(append_gauge_envelope(out.bytes, header, metrics));
}

void append_alert_envelope(parcel& out, const bosh::hm_alert& alert, std::string_view ip_tag) {
    out.source = envelope_source::bosh;
    const std::string severity = std::to_string(alert.severity);
    std::vector<envelope_tag> tags{
        {"origin", bosh_origin},
        {"deployment", alert.deployment},
        {"severity", severity},
    };
    if (!alert.category.empty()) {
        tags.push_back({"category", alert.category});
    }
    tags.push_back({"source", alert.source});
    tags.push_back({"alert_id", alert.id});
    if (!ip_tag.empty()) {
        tags.push_back({"ip", ip_tag});
    }
    const envelope_header header{.timestamp_ns = nanoseconds_of_seconds(alert.created_at),
                                 .source_id = {},
                                 .instance_id = {},
                                 .tags = tags};
    out.add(append_event_envelope(out.bytes, header, alert.title, alert.summary));
}

}  // namespace mgw::loggregator
