// Rendering sorts by gauge name so that each family is written once with its HELP and TYPE,
// which the text format requires (a family split in two is invalid).
#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include <mgw/bosh/heartbeat_gauges.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::bosh {

namespace {

void append_label(std::string& out, std::string_view name, std::string_view value, bool& first) {
    out += first ? '{' : ',';
    first = false;
    out += name;
    out += "=\"";
    exposition::append_escaped_label_value(out, value);
    out += '"';
}

}  // namespace

namespace {

// What a tracked string or map node costs beyond its characters (allocator and node overhead).
constexpr std::size_t entry_overhead = 64;

std::size_t size_of(const std::string& key, std::string_view deployment, std::string_view job,
                    std::string_view index, std::string_view id,
                    const std::vector<hm_metric>& metrics) {
    std::size_t size =
        entry_overhead + key.size() + deployment.size() + job.size() + index.size() + id.size();
    for (const hm_metric& m : metrics) {
        size += sizeof(hm_metric) + m.name.size();
    }
    return size;
}

}  // namespace

heartbeat_gauges::heartbeat_gauges(heartbeat_gauges_options options, core::memory_budget& memory)
    : options_(options), memory_(memory.empty_lease(core::memory_use::bosh_queues)) {}

bool heartbeat_gauges::reserve(std::size_t more) {
    if (more > options_.max_bytes - std::min(bytes_, options_.max_bytes) || !memory_.grow(more)) {
        return false;
    }
    bytes_ += more;
    return true;
}

void heartbeat_gauges::release(std::size_t less) {
    memory_.shrink(less);
    bytes_ -= less;
}

bool heartbeat_gauges::record(const hm_heartbeat& heartbeat, clock::time_point now) {
    const std::string& key =
        heartbeat.instance_id.empty() ? heartbeat.agent_id : heartbeat.instance_id;
    std::vector<hm_metric> metrics;
    metrics.reserve(heartbeat.metrics.size());
    for (const hm_metric& m : heartbeat.metrics) {
        std::string name = gauge_name(m.name);
        if (!name.empty()) {
            metrics.push_back({std::move(name), m.value});
        }
    }
    const std::size_t size = size_of(key, heartbeat.deployment, heartbeat.job, heartbeat.index,
                                     heartbeat.instance_id, metrics);
    const std::lock_guard lock(mutex_);
    auto it = instances_.find(key);
    if (it == instances_.end() && instances_.size() >= options_.max_instances) {
        return false;
    }
    const std::size_t before = it == instances_.end() ? 0 : it->second.bytes;
    if (size > before && !reserve(size - before)) {
        return false;
    }
    if (size < before) {
        release(before - size);
    }
    if (it == instances_.end()) {
        it = instances_.emplace(key, instance{}).first;
    }
    instance& i = it->second;
    i.deployment = heartbeat.deployment;
    i.job = heartbeat.job;
    i.index = heartbeat.index;
    i.id = heartbeat.instance_id;
    i.metrics = std::move(metrics);
    i.seen = now;
    i.bytes = size;
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
    if (alerts_.size() >= options_.max_alert_series ||
        !reserve(entry_overhead + alert.deployment.size() + alert.category.size())) {
        return false;
    }
    alerts_.emplace(std::move(key), 1);
    return true;
}

std::size_t heartbeat_gauges::instance_count() const {
    const std::lock_guard lock(mutex_);
    return instances_.size();
}

std::size_t heartbeat_gauges::bytes() const {
    const std::lock_guard lock(mutex_);
    return bytes_;
}

std::string heartbeat_gauges::render(clock::time_point now) {
    const std::lock_guard lock(mutex_);
    for (auto it = instances_.begin(); it != instances_.end();) {
        if (now - it->second.seen > options_.staleness) {
            release(it->second.bytes);
            it = instances_.erase(it);
        } else {
            ++it;
        }
    }

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
