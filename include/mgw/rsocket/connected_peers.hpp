// RSocket module: what GET /metrics/connected and GET /metrics/proxy add from other gateways in
// cluster mode. The gateway installs them (the cluster module gathers); the proxy only calls.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace mgw::rsocket {

// The expositions the peers' connected clients gave, by the deadline.
using connected_peers = std::function<boost::asio::awaitable<std::vector<std::string>>(
    std::chrono::steady_clock::time_point)>;

// One peer's /metrics/proxy (Prometheus text 0.0.4, as it serialised it) and its node id.
struct peer_proxy_metrics {
    std::string node;
    std::string text;
};

// The proxy metrics of every live peer that answered in full, by the deadline.
using proxy_peers = std::function<boost::asio::awaitable<std::vector<peer_proxy_metrics>>(
    std::chrono::steady_clock::time_point)>;

}  // namespace mgw::rsocket
