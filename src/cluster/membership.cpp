// The membership table: one entry per peer with its boot id, its advertised heartbeat interval
// and when it was last heard; a peer's own interval decides when it is gone, so nodes with
// different heartbeat settings still judge each other fairly.
#include "membership.hpp"

namespace mgw::cluster {

std::string_view to_string(membership_event event) {
    switch (event) {
        case membership_event::joined:
            return "joined";
        case membership_event::restarted:
            return "restarted";
        case membership_event::left:
            return "left";
    }
    return "unknown";
}

membership_table::membership_table(std::string self_node, std::string self_boot)
    : self_node_(std::move(self_node)), self_boot_(std::move(self_boot)) {}

std::optional<membership_change> membership_table::observe(const heartbeat& hb,
                                                           clock::time_point now) {
    if (hb.node == self_node_) {
        if (hb.boot != self_boot_) {
            ++self_conflicts_;
        }
        return std::nullopt;
    }
    auto it = peers_.find(hb.node);
    if (it == peers_.end()) {
        peers_.emplace(
            hb.node,
            peer{
                .boot = hb.boot, .interval = hb.interval, .last_seen = now, .answers = hb.answers});
        return membership_change{membership_event::joined, hb.node, hb.boot};
    }
    peer& p = it->second;
    // A heartbeat older than one we have seen (reordered over routes) must not move time back.
    if (now > p.last_seen) {
        p.last_seen = now;
    }
    p.interval = hb.interval;
    p.answers = hb.answers;
    if (p.boot != hb.boot) {
        p.boot = hb.boot;
        return membership_change{membership_event::restarted, hb.node, hb.boot};
    }
    return std::nullopt;
}

std::vector<membership_change> membership_table::expire(clock::time_point now) {
    std::vector<membership_change> gone;
    for (auto it = peers_.begin(); it != peers_.end();) {
        const auto limit =
            std::chrono::duration_cast<clock::duration>(std::chrono::duration<double, std::milli>(
                it->second.interval.count() * missed_heartbeats));
        if (now - it->second.last_seen > limit) {
            gone.push_back({membership_event::left, it->first, it->second.boot});
            it = peers_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

std::vector<std::string> membership_table::live_peers() const {
    std::vector<std::string> nodes;
    nodes.reserve(peers_.size());
    for (const auto& [node, p] : peers_) {
        nodes.push_back(node);
    }
    return nodes;
}

std::vector<std::string> membership_table::live_peers_answering(request_kind kind) const {
    std::vector<std::string> nodes;
    for (const auto& [node, p] : peers_) {
        if ((p.answers & bit(kind)) != 0) {
            nodes.push_back(node);
        }
    }
    return nodes;
}

std::vector<membership_table::peer_view> membership_table::peers() const {
    std::vector<peer_view> out;
    out.reserve(peers_.size());
    for (const auto& [node, p] : peers_) {
        out.push_back({.node = node, .boot = p.boot, .last_seen = p.last_seen});
    }
    return out;
}

bool membership_table::is_live(std::string_view node) const {
    return peers_.find(node) != peers_.end();
}

}  // namespace mgw::cluster
