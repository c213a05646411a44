// Cluster module: the `cluster` section of the gateway's configuration. Off by default, so a
// single gateway runs exactly as before; on, the gateways sharing `name` on the top-level NATS
// connection see each other (heartbeats) and answer any app with what every live node holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

namespace mgw::cluster {

struct gather_config {
    // How long an app's answer waits for its peers at most (the scrape deadline may cut it
    // shorter).
    std::chrono::milliseconds timeout{std::chrono::seconds(2)};
    // Peers reply in chunks of at most this many payload bytes: NATS refuses messages above
    // the server's max_payload (1 MiB by default).
    std::uint64_t chunk_bytes = 512u << 10;
};

struct rate_limit_config {
    // How often this node publishes its rate counts when they changed (all of them every
    // second regardless); peers admit on counts at most this old.
    std::chrono::milliseconds sync{100};
};

// Where broker instances and bindings live in cluster mode (issue 15).
enum class bindings_store {
    automatic,  // `auto`: the JetStream KV when JetStream answers at start, else local
    kv,         // JetStream KV required: the gateway does not start without it
    local       // each node's own broker, as on a single node
};

struct bindings_config {
    bindings_store store = bindings_store::automatic;
    // The bucket's replicas: 3 when the operator's JetStream has three or more servers.
    std::uint32_t replicas = 1;
};

struct cluster_config {
    bool enabled = false;
    // Prefixes every subject (`mgw.<name>.…`): gateways of one cluster share it.
    std::string name = "mgw";
    // Unique per gateway; empty: the host name (resolved_node_id()).
    std::string node_id;
    std::chrono::milliseconds heartbeat{std::chrono::seconds(1)};
    gather_config gather;
    rate_limit_config rate_limit;
    bindings_config bindings;

    // node_id, or the host name when it is empty. Throws std::runtime_error when the host name
    // cannot serve as a node id (then node_id must be set).
    std::string resolved_node_id() const;
};

// This run's boot id: 16 random hex digits, made once per process by whoever assembles the node
// (the gateway) and handed to every part that speaks for the node (heartbeats, rate counts), so
// that peers see one (node, boot) pair and tell a restart from a duplicate node id.
std::string new_boot_id();

// The largest chunk_bytes accepted: below NATS's default max_payload (1 MiB) with room for the
// chunk's header line.
inline constexpr std::uint64_t max_chunk_bytes = (1u << 20) - (4u << 10);
inline constexpr std::uint64_t min_chunk_bytes = 1u << 10;

// True when `name` may be a cluster name: 1 to 64 of [A-Za-z0-9_-].
bool valid_cluster_name(const std::string& name);
// True when `id` may be a node id: 1 to 128 of [A-Za-z0-9_.-], no empty dot-separated part
// (it becomes tokens of a NATS subject).
bool valid_node_id(const std::string& id);

// Reads the section `node` found at `path` (absent or null: the defaults, cluster off). Keys:
// enabled, name, node_id, heartbeat, gather {timeout, chunk_bytes}, rate_limit {sync}, bindings
// {store, replicas}. Throws core::config_error naming the key's path.
cluster_config read_cluster_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::cluster
