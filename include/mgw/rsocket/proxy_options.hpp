// RSocket module: the proxy's settings, on their own so that the configuration reader
// (rsocket/config.hpp) builds them without pulling in the proxy's composition root.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include <mgw/core/address.hpp>
#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/key_pool.hpp>

namespace mgw::rsocket {

struct proxy_options {
    std::optional<core::listen_address> tcp_listen;
    std::optional<core::listen_address> websocket_listen;
    // Per-client deadline of a pull, lowered by X-Prometheus-Scrape-Timeout-Seconds.
    std::chrono::milliseconds scrape_timeout{std::chrono::seconds{10}};
    // A pushed exposition of a closed connection is served once, or dropped after this.
    std::chrono::milliseconds push_ttl{std::chrono::minutes{5}};
    std::size_t max_connections = 10000;
    std::size_t max_held_pushes = 10000;
    // The pushes held for the next scrape, in all (each also leased from the memory budget).
    std::size_t max_held_push_bytes = std::size_t{256} << 20;
    // A GUID in a client's SETUP, or an app_id label in its metrics, joins it to that app
    // without proof: for networks where every client is trusted (off by default).
    bool trust_declared_app_identity = false;
    connection_options connection;
    key_pool_options keys;
};

}  // namespace mgw::rsocket
