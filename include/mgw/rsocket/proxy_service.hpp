// RSocket module: the prometheus-rsocket-proxy replacement. Accepts clients over TCP and
// WebSocket, pulls them all on GET /metrics/connected, serves its own metrics on /metrics/proxy,
// and puts the clients that proved their app (a key the service broker issued for it) into that
// app's /v1|v2/apps answer.
//
// This is the composition root the gateway wires: it builds the parts (each in its own file in
// src/rsocket/) and hands out the faces other modules use. The registry of clients
// (client_registry), the pull of a set of clients by a deadline (client_pull), what connections
// report (client_observer), the listeners (client_acceptor), the HTTP endpoints
// (proxy_endpoints) and the app source and directory (client_app_source).
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/rsocket/connected_peers.hpp>
#include <mgw/rsocket/key_pool.hpp>
#include <mgw/rsocket/proxy_options.hpp>
#include <mgw/rsocket/proxy_status.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;
class identity_outcomes;
class client_pull;
class client_observer;
class client_acceptor;
class proxy_endpoints;
class client_app_source;

class proxy_service {
  public:
    // `bindings`: the service broker's access keys (null without a broker: no client can
    // prove an app). It and `memory` must outlive the service's I/O.
    proxy_service(boost::asio::io_context& io, proxy_options options, core::logger& log,
                  prometheus::Registry& registry, core::memory_budget& memory,
                  const push::binding_directory* bindings);
    ~proxy_service();
    proxy_service(const proxy_service&) = delete;
    proxy_service& operator=(const proxy_service&) = delete;

    // Binds the configured listeners (std::system_error when taken) and starts accepting.
    void start();
    // Closes the listeners and every connection; pulls in flight complete as `closed`.
    void stop();

    std::uint16_t tcp_port() const;
    std::uint16_t websocket_port() const;

    proxy_status status() const;

    // GET /metrics/connected and GET /metrics/proxy.
    void register_routes(http::router& router);
    // /metrics/connected then also has the peers' clients (not with `?scope=local`). Before
    // serving.
    void set_connected_peers(connected_peers peers);
    // Cluster mode: /metrics/proxy then has every live node's own metrics, each series with a
    // `gateway_node` label (`node_id` for this node's). Before the I/O starts.
    void set_proxy_peers(proxy_peers peers, std::string node_id);
    // This node's own metrics as /metrics/proxy serves them alone (Prometheus text), for a
    // peer's /metrics/proxy. Any thread.
    std::string proxy_text();
    // Every client connected here pulled by `deadline`: the texts of those that answered, for
    // a peer's /metrics/connected. Last pushes of closed clients stay for this node's own
    // scrape (they are served once).
    boost::asio::awaitable<void> pull_connected(std::chrono::steady_clock::time_point deadline,
                                                std::vector<std::string>& out);

    // The clients joined to an app, in its /v1|v2/apps answer (their joins checked against
    // the broker first).
    apps::app_source& app_source();
    // Service discovery: the apps connected clients have joined (proved with a key, or
    // declared on trusted networks).
    const apps::app_directory& app_directory() const;

  private:
    proxy_options options_;
    // The parts, in the order they are built: each takes references to those before it.
    std::unique_ptr<proxy_counters> counters_;
    std::unique_ptr<original_metrics> original_;
    std::unique_ptr<client_registry> registry_;
    std::unique_ptr<identity_outcomes> identities_;
    // RSA key generation is tens of milliseconds of CPU: kept off the I/O threads.
    key_pool key_pool_;
    std::unique_ptr<client_pull> pull_;
    std::unique_ptr<client_observer> observer_;
    std::unique_ptr<client_acceptor> acceptor_;
    std::unique_ptr<proxy_endpoints> endpoints_;
    std::unique_ptr<client_app_source> app_source_;
};

}  // namespace mgw::rsocket
