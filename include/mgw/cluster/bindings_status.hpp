// Cluster module: what the status console shows of the broker's binding store in cluster mode
// (issue 15) — shared through JetStream KV or per node, the last change the watch applied, and
// whether JetStream answers. A plain value in a header of its own so the status page needs
// neither the broker nor NATS to render it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace mgw::cluster {

struct bindings_store_status {
    bool shared = false;              // false: "local", each node's own SQLite (no JetStream)
    std::string bucket;               // mgw_<name>_bindings when shared
    std::uint64_t last_revision = 0;  // the bucket revision of the last change applied (0: none)
    std::optional<std::chrono::steady_clock::time_point> last_applied;
    // JetStream's last answer to this node (a watched change, a write's reply, the watch's
    // idle check every ~250 ms); nullopt: never.
    std::optional<std::chrono::steady_clock::time_point> last_answer;
    std::size_t instances = 0;  // live in the bucket, as the watch has seen it
    std::size_t bindings = 0;
};

// JetStream counts as reachable when it answered within this long (the idle check runs every
// ~250 ms, so a silent second means it does not answer).
inline constexpr std::chrono::seconds jetstream_silence{2};

}  // namespace mgw::cluster
