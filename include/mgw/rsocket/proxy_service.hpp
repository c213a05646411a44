// RSocket module: the prometheus-rsocket-proxy replacement. Accepts clients over TCP and
// WebSocket, pulls them all on GET /metrics/connected, serves its own metrics on /metrics/proxy.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/router.hpp>
#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/key_pool.hpp>

namespace prometheus {
class Registry;
}

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
    std::size_t max_frame_bytes = 16777215;
    connection_options connection;
    key_pool_options keys;
};

// The app GUID a client belongs to, from its SETUP payload (a GUID, or JSON with `app_id` /
// `application_id`) or from the labels of its metrics (`app_id="..."`, `application_id="..."`);
// empty when neither names one.
std::string app_guid_in_setup(std::string_view payload);
std::string app_guid_in_labels(std::string_view exposition_text);

// Also an app source: a client that belongs to an app joins that app's /v1/apps/... answer.
class proxy_service final : public apps::app_source, private connection_observer {
  public:
    proxy_service(boost::asio::io_context& io, proxy_options options, core::logger& log,
                  prometheus::Registry& registry);
    ~proxy_service();
    proxy_service(const proxy_service&) = delete;
    proxy_service& operator=(const proxy_service&) = delete;

    // Binds the configured listeners (std::system_error when taken) and starts accepting.
    void start();
    // Closes the listeners and every connection; pulls in flight complete as `closed`.
    void stop();

    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t websocket_port() const { return websocket_port_; }

    // GET /metrics/connected and GET /metrics/proxy.
    void register_routes(http::router& router);

    // Pulls the app's clients (and those whose app is not known yet, to learn it).
    boost::asio::awaitable<void> collect(const apps::app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<apps::contributed_exposition>& out) override;

  private:
    struct metrics;
    struct proxy_metrics;
    struct listener;
    struct app_identity {
        std::string guid;
        bool from_labels = false;  // the metrics carry it: no label to add
    };
    struct held_push {
        std::string text;
        std::chrono::steady_clock::time_point expires;
    };

    boost::asio::awaitable<void> accept_loop(std::shared_ptr<listener> l);
    // Runs on `strand`, the executor of `socket`.
    boost::asio::awaitable<void> start_connection(boost::asio::ip::tcp::socket socket,
                                                  connection::strand_type strand, bool websocket);
    boost::asio::awaitable<void> serve_connected(http::request_context& request,
                                                 http::response& response);
    boost::asio::awaitable<void> serve_proxy(http::request_context& request,
                                             http::response& response);
    // Pulls every client in parallel by `deadline`, records the outcomes, learns their apps.
    boost::asio::awaitable<std::vector<scrape_answer>> pull(
        const std::vector<std::shared_ptr<connection>>& clients,
        std::chrono::steady_clock::time_point deadline);
    std::vector<std::string> take_held_pushes(std::chrono::steady_clock::time_point now);
    void prune_held_pushes(std::chrono::steady_clock::time_point now);

    void connection_ready(const std::shared_ptr<connection>& c) override;
    void connection_pushed(connection& c, bool ok, std::string_view reason) override;
    void connection_failed(connection& c, std::string_view reason) override;
    void connection_closed(connection& c, std::optional<std::string> push) override;

    boost::asio::io_context& io_;
    proxy_options options_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
    std::unique_ptr<proxy_metrics> proxy_metrics_;
    // RSA key generation is tens of milliseconds of CPU: kept off the I/O threads.
    key_pool key_pool_;
    std::vector<std::shared_ptr<listener>> listeners_;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t websocket_port_ = 0;

    mutable std::mutex mutex_;  // guards everything below; never held across I/O
    bool stopped_ = false;
    std::uint64_t next_id_ = 1;
    std::size_t open_ = 0;  // accepted and not yet closed, ready or not
    std::map<std::uint64_t, std::weak_ptr<connection>> all_;
    std::map<std::uint64_t, std::shared_ptr<connection>> ready_;
    std::map<std::uint64_t, app_identity> apps_;  // of ready connections whose app is known
    std::deque<held_push> held_;
};

}  // namespace mgw::rsocket
