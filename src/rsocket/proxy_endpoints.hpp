// RSocket module (internal): the proxy's HTTP endpoints. GET /metrics/connected pulls every
// ready client and the held pushes, reads them leniently, drops series a longer-connected
// client already exposed, merges and streams them; GET /metrics/proxy serves the original
// prometheus-rsocket-proxy's own metrics.
#pragma once

#include <chrono>

#include <boost/asio/awaitable.hpp>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>
#include <mgw/rsocket/connected_peers.hpp>

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;
class client_pull;

class proxy_endpoints {
  public:
    // `scrape_timeout`: a pull's deadline, lowered by X-Prometheus-Scrape-Timeout-Seconds.
    proxy_endpoints(std::chrono::milliseconds scrape_timeout, client_registry& registry,
                    client_pull& pull, proxy_counters& counters, original_metrics& original,
                    core::memory_budget& memory, core::logger& log);

    // GET /metrics/connected and GET /metrics/proxy.
    void register_routes(http::router& router);
    // Cluster mode: /metrics/connected also has the peers' clients, gathered while the local
    // ones are pulled (not with `?scope=local`).
    void set_connected_peers(connected_peers peers) { connected_peers_ = std::move(peers); }

  private:
    boost::asio::awaitable<void> serve_connected(http::request_context& request,
                                                 http::response& response);
    boost::asio::awaitable<void> serve_proxy(http::request_context& request,
                                             http::response& response);

    std::chrono::milliseconds scrape_timeout_;
    client_registry& registry_;
    client_pull& pull_;
    proxy_counters& counters_;
    original_metrics& original_;
    core::memory_budget& memory_;
    core::logger& log_;
    connected_peers connected_peers_;
};

}  // namespace mgw::rsocket
