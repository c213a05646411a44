// Cluster module: which peers are alive, from their heartbeats, as a pure table with the clock
// passed in (no timers, no I/O), so that joins, departures and restarts are tested without
// sockets or sleeping. The shell feeds it every heartbeat and calls expire() on its own tick.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire.hpp"

namespace mgw::cluster {

enum class membership_event { joined, restarted, left };
std::string_view to_string(membership_event event);

struct membership_change {
    membership_event event = membership_event::joined;
    std::string node;
    std::string boot;
};

class membership_table {
  public:
    using clock = std::chrono::steady_clock;

    // A peer is gone when it missed this many of its own heartbeat intervals.
    static constexpr double missed_heartbeats = 3.5;

    membership_table(std::string self_node, std::string self_boot);

    // A heartbeat received at `now`. Our own heartbeats are ignored (one with our node id and
    // another boot id counts in self_conflicts(): two gateways share a node id). Returns the
    // change it makes: a new node joined, a known node restarted (new boot id); nullopt for a
    // refresh.
    std::optional<membership_change> observe(const heartbeat& hb, clock::time_point now);

    // Removes the peers whose last heartbeat is more than missed_heartbeats of their interval
    // before `now`; returns them (node order).
    std::vector<membership_change> expire(clock::time_point now);

    struct peer_view {
        std::string node;
        std::string boot;
        clock::time_point last_seen;
    };
    // The live peers with when they were last heard, by node id.
    std::vector<peer_view> peers() const;

    // The live peers' node ids, sorted; never ourselves.
    std::vector<std::string> live_peers() const;
    // Those of them whose last heartbeat says they answer `kind`.
    std::vector<std::string> live_peers_answering(request_kind kind) const;
    std::size_t peer_count() const { return peers_.size(); }
    bool is_live(std::string_view node) const;
    std::uint64_t self_conflicts() const { return self_conflicts_; }

    const std::string& self_node() const { return self_node_; }
    const std::string& self_boot() const { return self_boot_; }

  private:
    struct peer {
        std::string boot;
        std::chrono::milliseconds interval;
        clock::time_point last_seen;
        answered_kinds answers = all_kinds;
    };

    std::string self_node_;
    std::string self_boot_;
    std::map<std::string, peer, std::less<>> peers_;
    std::uint64_t self_conflicts_ = 0;
};

}  // namespace mgw::cluster
