// Cluster-wide rate limits, pure: the mgw.<cluster>.rl codec (JSON through Boost.JSON, every
// field checked, so a stray publisher gives nullopt, never an exception) and the peers' count
// table the limiter's admission sums.
#include "rate_share.hpp"

#include <algorithm>
#include <limits>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mgw::cluster {

namespace json = boost::json;

namespace {

json::string_view js(std::string_view s) {
    return {s.data(), s.size()};
}

std::string count_json(const rate_count& c) {
    json::array a;
    a.emplace_back(js(c.binding));
    a.emplace_back(c.window_start_ms);
    a.emplace_back(static_cast<std::uint64_t>(c.requests));
    a.emplace_back(static_cast<std::uint64_t>(c.metrics));
    return json::serialize(a);
}

std::optional<std::uint32_t> as_u32(const json::value& v) {
    if (v.is_uint64() && v.as_uint64() <= std::numeric_limits<std::uint32_t>::max()) {
        return static_cast<std::uint32_t>(v.as_uint64());
    }
    if (v.is_int64() && v.as_int64() >= 0 &&
        v.as_int64() <= std::numeric_limits<std::uint32_t>::max()) {
        return static_cast<std::uint32_t>(v.as_int64());
    }
    return std::nullopt;
}

std::uint32_t saturating_add(std::uint32_t a, std::uint32_t b) {
    constexpr std::uint32_t most = std::numeric_limits<std::uint32_t>::max();
    return a > most - b ? most : a + b;
}

}  // namespace

std::vector<std::string> encode_rate_reports(std::string_view node, std::string_view boot,
                                             const std::vector<rate_count>& counts,
                                             std::size_t max_bytes, std::size_t* skipped) {
    json::object head;
    head["node"] = js(node);
    head["boot"] = js(boot);
    std::string prefix = json::serialize(head);
    prefix.pop_back();  // '}'
    prefix += ",\"counts\":[";
    const std::string suffix = "]}";

    std::vector<std::string> out;
    std::string message;
    std::size_t left_out = 0;
    for (const rate_count& c : counts) {
        const std::string entry = count_json(c);
        if (prefix.size() + entry.size() + suffix.size() > max_bytes) {
            ++left_out;
            continue;
        }
        if (!message.empty() && message.size() + 1 + entry.size() + suffix.size() > max_bytes) {
            out.push_back(message + suffix);
            message.clear();
        }
        message += message.empty() ? prefix : ",";
        message += entry;
    }
    if (!message.empty()) {
        out.push_back(message + suffix);
    }
    if (skipped != nullptr) {
        *skipped = left_out;
    }
    return out;
}

std::optional<rate_report> decode_rate_report(std::string_view message) {
    boost::system::error_code ec;
    const json::value value = json::parse(js(message), ec);
    if (ec || !value.is_object()) {
        return std::nullopt;
    }
    const json::object& o = value.as_object();
    const json::value* node = o.if_contains("node");
    const json::value* boot = o.if_contains("boot");
    const json::value* counts = o.if_contains("counts");
    if (node == nullptr || !node->is_string() || node->as_string().empty() || boot == nullptr ||
        !boot->is_string() || counts == nullptr || !counts->is_array()) {
        return std::nullopt;
    }
    rate_report report;
    report.node.assign(node->as_string().data(), node->as_string().size());
    report.boot.assign(boot->as_string().data(), boot->as_string().size());
    report.counts.reserve(counts->as_array().size());
    for (const json::value& entry : counts->as_array()) {
        if (!entry.is_array() || entry.as_array().size() != 4) {
            return std::nullopt;
        }
        const json::array& a = entry.as_array();
        const auto requests = as_u32(a[2]);
        const auto metrics = as_u32(a[3]);
        if (!a[0].is_string() || !a[1].is_int64() || !requests || !metrics) {
            return std::nullopt;
        }
        report.counts.push_back(
            {.binding = std::string(a[0].as_string().data(), a[0].as_string().size()),
             .window_start_ms = a[1].as_int64(),
             .requests = *requests,
             .metrics = *metrics});
    }
    return report;
}

rate_table::rate_table(std::string self_node, std::string self_boot)
    : self_node_(std::move(self_node)), self_boot_(std::move(self_boot)) {}

std::size_t rate_table::merge(const rate_report& report, std::int64_t current_window_start_ms) {
    if (report.node == self_node_ && report.boot == self_boot_) {
        return 0;
    }
    std::size_t taken = 0;
    for (const rate_count& c : report.counts) {
        if (c.window_start_ms < current_window_start_ms) {
            continue;  // a window that ended: it no longer limits anything
        }
        push::peer_use& held =
            windows_[window_key(c.binding, c.window_start_ms)][node_key(report.node, report.boot)];
        held.requests = std::max(held.requests, c.requests);
        held.metrics = std::max(held.metrics, c.metrics);
        ++taken;
    }
    return taken;
}

push::peer_use rate_table::sum(std::string_view binding, std::int64_t window_start_ms) const {
    push::peer_use total;
    const auto found = windows_.find(window_key(std::string(binding), window_start_ms));
    if (found == windows_.end()) {
        return total;
    }
    for (const auto& [node, use] : found->second) {
        total.requests = saturating_add(total.requests, use.requests);
        total.metrics = saturating_add(total.metrics, use.metrics);
    }
    return total;
}

std::size_t rate_table::expire(std::int64_t current_window_start_ms) {
    std::size_t dropped = 0;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (it->first.second < current_window_start_ms) {
            dropped += it->second.size();
            it = windows_.erase(it);
        } else {
            ++it;
        }
    }
    return dropped;
}

std::size_t rate_table::size() const {
    std::size_t n = 0;
    for (const auto& [key, nodes] : windows_) {
        n += nodes.size();
    }
    return n;
}

std::vector<rate_count> changed_counts(const std::vector<rate_count>& published,
                                       const std::vector<rate_count>& now) {
    std::map<std::pair<std::string_view, std::int64_t>, const rate_count*> before;
    for (const rate_count& c : published) {
        before[{c.binding, c.window_start_ms}] = &c;
    }
    std::vector<rate_count> out;
    for (const rate_count& c : now) {
        const auto it = before.find({c.binding, c.window_start_ms});
        if (it == before.end() || !(*it->second == c)) {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace mgw::cluster
