// RSocket module: what GET /metrics/connected adds from other gateways in cluster mode. The
// gateway installs it (the cluster module gathers it); the proxy only calls it.
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

}  // namespace mgw::rsocket
