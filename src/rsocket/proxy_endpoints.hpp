// RSocket module (internal): the proxy's HTTP endpoints. GET /metrics/connected pulls every
// ready client and the held pushes, reads them leniently, drops series a longer-connected
// client already exposed, merges and streams them; GET /metrics/proxy serves the original
// prometheus-rsocket-proxy's own metrics.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/content_type.hpp>
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
    // Cluster mode: /metrics/proxy has every live node's own metrics, each series labelled
    // with its node (`gateway_node`, this node's `node_id` for its own; see proxy_combine.hpp),
    // the peers' gathered by the scrape deadline (not with `?scope=local`).
    void set_proxy_peers(proxy_peers peers, std::string node_id) {
        proxy_peers_ = std::move(peers);
        node_id_ = std::move(node_id);
    }
    // This node's original metrics as /metrics/proxy serves them alone (Prometheus text 0.0.4):
    // for the endpoint, and for a peer's gather.
    std::string proxy_text();

  private:
    boost::asio::awaitable<void> serve_connected(http::request_context& request,
                                                 http::response& response);
    boost::asio::awaitable<void> serve_proxy(http::request_context& request,
                                             http::response& response);
    boost::asio::awaitable<void> serve_cluster_proxy(
        http::request_context& request, http::response& response, std::string text,
        const exposition::negotiated_format& negotiated);

    std::chrono::milliseconds scrape_timeout_;
    client_registry& registry_;
    client_pull& pull_;
    proxy_counters& counters_;
    original_metrics& original_;
    core::memory_budget& memory_;
    core::logger& log_;
    connected_peers connected_peers_;
    proxy_peers proxy_peers_;
    std::string node_id_;
};

}  // namespace mgw::rsocket
