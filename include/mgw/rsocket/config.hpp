// The `rsocket` section of the gateway's configuration: the RSocket listeners, per-connection
// limits and the RSA key pool. Read here so that an rsocket key is added in this module only;
// the proxy's options are built from it here too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/core/address.hpp>
#include <mgw/rsocket/proxy_options.hpp>

namespace mgw::rsocket {

struct rsocket_config {
    std::optional<core::listen_address> tcp_listen;        // YAML "": off
    std::optional<core::listen_address> websocket_listen;  // YAML "": off
    // A closed client's pushed metrics are served once, or dropped after this.
    std::chrono::milliseconds push_ttl{std::chrono::minutes{5}};
    std::uint64_t max_frame_bytes = 16777215;  // the protocol's own limit (24-bit length)
    std::uint64_t max_text_bytes = std::uint64_t{64} << 20;  // one client's decompressed scrape
    std::uint32_t max_connections = 10000;
    std::uint32_t key_bits = 2048;  // RSA key per connection
    // Believe the app a client names in its SETUP or its labels, without a key (trusted
    // networks only); otherwise only a key the broker issued joins a client to an app.
    bool trust_declared_app_identity = false;
    std::chrono::milliseconds setup_timeout{std::chrono::seconds{10}};  // connect to SETUP
    std::chrono::milliseconds frame_timeout{
        std::chrono::seconds{30}};  // a frame's first to last byte
    // Everything one connection holds for its client at once (frames, replies, a push).
    std::uint64_t max_connection_bytes = std::uint64_t{128} << 20;
    // Pushes of closed connections held for the next scrape, in all.
    std::uint64_t max_held_push_bytes = std::uint64_t{256} << 20;
    // The key pool: workers making RSA keys ahead (0: one per core), keys kept ready, and how
    // far one key is shared when more connections wait than can be keyed one by one within
    // key_wait_target (a reconnect storm; 1: never shared).
    std::uint32_t key_threads = 0;
    std::uint32_t key_stock = 4;
    std::uint32_t key_share_max_connections = 64;
    std::chrono::milliseconds key_wait_target{std::chrono::milliseconds{500}};

    // The proxy's options from this section; an RSocket pull waits at most `scrape_timeout`
    // (scrape.timeout), as an instance scrape does.
    proxy_options proxy(std::chrono::milliseconds scrape_timeout) const;
};

// Reads the section `node` found at `path` (absent or null: the defaults, listeners off).
// Throws core::config_error naming the key's path.
rsocket_config read_rsocket_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::rsocket
