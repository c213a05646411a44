// RSocket module: the prometheus-rsocket-proxy replacement. Accepts clients over TCP and
// WebSocket, pulls them all on GET /metrics/connected, serves its own metrics on /metrics/proxy,
// and puts the clients that proved their app (a key the service broker issued for it) into that
// app's /v1|v2/apps answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/log_throttle.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/key_pool.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;

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

// What the status console shows of the proxy; plain values copied under the registry's lock.
struct proxy_status {
    std::size_t open_connections = 0;  // admitted, ready or not
    std::size_t ready_clients = 0;     // pulled by /metrics/connected
    std::size_t held_pushes = 0;       // last pushes of closed clients, kept for one scrape
    std::size_t held_push_bytes = 0;
    struct app_clients {
        std::string app_guid;  // as the clients spelled it
        std::size_t clients = 0;
    };
    std::vector<app_clients> apps;  // ready clients joined to each app, by GUID
};

// What GET /metrics/connected adds from other gateways (cluster mode): the expositions their
// connected clients gave, by the deadline (installed by the gateway; empty: this node only).
using connected_peers = std::function<boost::asio::awaitable<std::vector<std::string>>(
    std::chrono::steady_clock::time_point)>;

// Also an app source: a client that proved its app (or declared it, when trusted) joins that
// app's /v1|v2/apps answer; nobody else is ever pulled for an app.
class proxy_service final : public apps::app_source,
                            public apps::app_directory,
                            private connection_observer {
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

    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t websocket_port() const { return websocket_port_; }

    proxy_status status() const;

    // GET /metrics/connected and GET /metrics/proxy.
    void register_routes(http::router& router);
    // /metrics/connected then also has the peers' clients (not with `?scope=local`). Before
    // serving.
    void set_connected_peers(connected_peers peers) { connected_peers_ = std::move(peers); }
    // Every client connected here pulled by `deadline`: the texts of those that answered, for
    // a peer's /metrics/connected. Last pushes of closed clients stay for this node's own
    // scrape (they are served once).
    boost::asio::awaitable<void> pull_connected(std::chrono::steady_clock::time_point deadline,
                                                std::vector<std::string>& out);

    // Service discovery: the apps connected clients have joined (proved with a key, or declared
    // on trusted networks). A key revoked since is checked when the app is scraped.
    std::string_view directory_name() const override { return "rsocket"; }
    void list_apps(std::vector<apps::known_app>& out) const override;

    // Pulls the clients joined to the app, their joins checked against the broker first.
    boost::asio::awaitable<void> collect(const apps::app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<apps::contributed_exposition>& out) override;

  private:
    struct listener;

    boost::asio::awaitable<void> accept_loop(std::shared_ptr<listener> l);
    // Runs on `strand`, the executor of `socket`.
    boost::asio::awaitable<void> start_connection(boost::asio::ip::tcp::socket socket,
                                                  connection::strand_type strand, bool websocket);
    boost::asio::awaitable<void> serve_connected(http::request_context& request,
                                                 http::response& response);
    boost::asio::awaitable<void> serve_proxy(http::request_context& request,
                                             http::response& response);
    // Pulls `clients` by `deadline`; where declarations are trusted, learns the apps their
    // labels name.
    boost::asio::awaitable<std::vector<scrape_answer>> pull(
        const std::vector<std::shared_ptr<connection>>& clients,
        std::chrono::steady_clock::time_point deadline);
    // The first pull of a trusted client whose SETUP names no app, off every app's path.
    boost::asio::awaitable<void> learn_app(std::shared_ptr<connection> c);
    // Counts an identity outcome; refusals are also logged (rate-limited).
    void record_identity(const connection& c, std::string_view result);

    void connection_ready(const std::shared_ptr<connection>& c) override;
    void connection_pushed(connection& c, bool ok, std::string_view reason) override;
    void connection_failed(connection& c, std::string_view reason) override;
    void connection_closed(connection& c, std::optional<leased_text> push) override;

    boost::asio::io_context& io_;
    proxy_options options_;
    core::logger& log_;
    core::memory_budget& memory_;
    const push::binding_directory* bindings_;
    // Refused identity proofs repeat on every reconnect of a misconfigured client.
    core::log_throttle identity_log_{std::chrono::seconds(10)};
    std::unique_ptr<proxy_counters> counters_;
    std::unique_ptr<original_metrics> original_;
    std::unique_ptr<client_registry> registry_;
    // RSA key generation is tens of milliseconds of CPU: kept off the I/O threads.
    key_pool key_pool_;
    std::vector<std::shared_ptr<listener>> listeners_;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t websocket_port_ = 0;
    connected_peers connected_peers_;
};

}  // namespace mgw::rsocket
