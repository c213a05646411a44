// Cluster module: the pure part of cluster-wide rate limits. Every node publishes its own
// cumulative counts per (binding, window) on mgw.<cluster>.rl; every node keeps the largest
// count it heard per (node, boot id, binding, window) and admits a request when its own count
// plus the sum of its peers' plus the request's cost fits the limit. Cumulative counts make a
// lost or reordered message harmless (the next one carries the total). No I/O, no exceptions:
// a message that does not decode is nullopt and the caller counts it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mgw/push/peer_usage.hpp>

namespace mgw::cluster {

// One node's count of one binding's window.
struct rate_count {
    std::string binding;
    std::int64_t window_start_ms = 0;  // the window's start, ms since the Unix epoch
    std::uint32_t requests = 0;
    std::uint32_t metrics = 0;

    bool operator==(const rate_count&) const = default;
};

// One message on mgw.<cluster>.rl: some (a change) or all (every second) of a node's counts.
struct rate_report {
    std::string node;
    std::string boot;
    std::vector<rate_count> counts;
};

// `counts` of node/boot as messages of at most `max_bytes` each (the NATS max_payload less
// room), every count in exactly one message; no message when there are no counts. A count
// whose own message would exceed max_bytes (a binding id longer than the payload) is left out
// and reported in `*skipped`.
std::vector<std::string> encode_rate_reports(std::string_view node, std::string_view boot,
                                             const std::vector<rate_count>& counts,
                                             std::size_t max_bytes, std::size_t* skipped = nullptr);
std::optional<rate_report> decode_rate_report(std::string_view message);

// The peers' counts as this node heard them.
class rate_table {
  public:
    // Reports of (self_node, self_boot) are this node's own, echoed by NATS: ignored. A report
    // of self_node with another boot id is a previous run of this node, whose admissions in
    // the current window still count.
    rate_table(std::string self_node, std::string self_boot);

    // Keeps, per (node, boot, binding, window), the largest counts heard (counts only grow
    // within a window, so an older message never lowers them). Windows that ended before
    // `current_window_start_ms` are not kept. Returns the counts taken (0 for our own report).
    std::size_t merge(const rate_report& report, std::int64_t current_window_start_ms);

    // The sum of every peer's counts of the binding's window (saturating).
    push::peer_use sum(std::string_view binding, std::int64_t window_start_ms) const;

    // Forgets windows that started before `current_window_start_ms`: a peer's counts, even of
    // a peer that left, count until their window ends and then no more. Returns the entries
    // dropped.
    std::size_t expire(std::int64_t current_window_start_ms);

    std::size_t size() const;  // (node, boot, binding, window) entries held

  private:
    using window_key = std::pair<std::string, std::int64_t>;  // binding, window start
    using node_key = std::pair<std::string, std::string>;     // node, boot

    std::string self_node_;
    std::string self_boot_;
    std::map<window_key, std::map<node_key, push::peer_use>, std::less<>> windows_;
};

// What changed between the counts last published and `now` (the local counts of the current
// window): the entries of `now` that are new or differ. Both sorted or not, any order.
std::vector<rate_count> changed_counts(const std::vector<rate_count>& published,
                                       const std::vector<rate_count>& now);

}  // namespace mgw::cluster
