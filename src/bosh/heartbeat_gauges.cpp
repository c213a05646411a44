// Rendering sorts by gauge name so that each family is written once with its HELP and TYPE,
// which the text format requires (a family split in two is invalid).
#include <set>
#include <vector>

#include <fmt/format.h>

#include <mgw/bosh/heartbeat_gauges.hpp>

namespace mgw::bosh {

namespace {

void append_escaped(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_label(std::string& out, std::string_view name, std::string_view value, bool& first) {
    out += first ? '{' : ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value);
    out += '"';
}

}  // namespace

heartbeat_gauges::heartbeat_gauges(heartbeat_gauges_options options) : options_(options) {}

bool heartbeat_gauges::record(const hm_heartbeat& heartbeat, clock::time_point now) {
    const std::string& key =
        heartbeat.instance_id.empty() ? heartbeat.agent_id : heartbeat.instance_id;
    const std::lock_guard lock(mutex_);
    auto it = instances_.find(key);
    if (it == instances_.end()) {
        if (instances_.size() >= options_.max_instances) {
            return false;
        }
        it = instances_.emplace(key, instance{}).first;
    }
    instance& i = it->second;
    i.deployment = heartbeat.deployment;
    i.job = heartbeat.job;
    i.index = heartbeat.index;
    i.id = heartbeat.instance_id;
    i.metrics.clear();
    for (const hm_metric& m : heartbeat.metrics) {
        std::string name = gauge_name(m.name);
        if (!name.empty()) {
            i.metrics.push_back({std::move(name), m.value});
        }
    }
    i.seen = now;
    return true;
}

bool heartbeat_gauges::record(const hm_alert& alert) {
    const std::lock_guard lock(mutex_);
    auto key = std::make_tuple(alert.deployment, alert.severity, alert.category);
    const auto it = alerts_.find(key);
    if (it != alerts_.end()) {
        ++it->second;
        return true;
    }
    if (alerts_.size() >= options_.max_alert_series) {
        return false;
    }
    alerts_.emplace(std::move(key), 1);
    return true;
}

std::size_t heartbeat_gauges::instance_count() const {
    const std::lock_guard lock(mutex_);
    return instances_.size();
}

std::string heartbeat_gauges::render(clock::time_point now) {
    const std::lock_guard lock(mutex_);
    std::erase_if(instances_,
                  [&](const auto& entry) { return now - entry.second.seen > options_.staleness; });

    // gauge name → (instance, value) in instance order.
    std::map<std::string, std::vector<std::pair<const instance*, double>>> families;
    for (const auto& [key, i] : instances_) {
        for (const hm_metric& m : i.metrics) {
            families[m.name].emplace_back(&i, m.value);
        }
    }
    std::string out;
    for (const auto& [name, samples] : families) {
        out += fmt::format("# HELP {} BOSH Health Monitor heartbeat vital\n# TYPE {} gauge\n", name,
                           name);
        for (const auto& [i, value] : samples) {
            out += name;
            bool first = true;
            append_label(out, "deployment", i->deployment, first);
            if (!i->job.empty()) {
                append_label(out, "job", i->job, first);
            }
            append_label(out, "index", i->index, first);
            if (!i->id.empty()) {
                append_label(out, "id", i->id, first);
            }
            out += "} ";
            out += fmt::format("{}", value);
            out += '\n';
        }
    }
    if (!alerts_.empty()) {
        out +=
            "# HELP bosh_alerts_total BOSH Health Monitor alerts received\n"
            "# TYPE bosh_alerts_total counter\n";
        for (const auto& [key, count] : alerts_) {
            const auto& [deployment, severity, category] = key;
            out += "bosh_alerts_total";
            bool first = true;
            append_label(out, "deployment", deployment, first);
            append_label(out, "severity", std::to_string(severity), first);
            append_label(out, "category", category, first);
            out += fmt::format("}} {}\n", count);
        }
    }
    return out;
}

}  // namespace mgw::bosh
