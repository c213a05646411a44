// RSocket module (internal): the proxy's listeners. Binds the TCP and WebSocket listeners,
// accepts on each, admits a connection into the registry (or refuses it at max_connections),
// performs the WebSocket upgrade, and runs each connection on its own strand, reporting to the
// connection observer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <mgw/core/address.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/key_pool.hpp>

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;

class client_acceptor {
  public:
    struct listen_addresses {
        std::optional<core::listen_address> tcp;
        std::optional<core::listen_address> websocket;
    };

    // Every reference must outlive the connections' I/O.
    client_acceptor(boost::asio::io_context& io, listen_addresses listen,
                    connection_options options, client_registry& registry, key_pool& keys,
                    connection_observer& observer, proxy_counters& counters,
                    original_metrics& original, core::memory_budget& memory, core::logger& log);

    // Binds the configured listeners (std::system_error when taken) and starts accepting.
    void start();
    // Closes the listeners (the connections are the registry's to stop).
    void stop();

    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t websocket_port() const { return websocket_port_; }

  private:
    struct listener;

    boost::asio::awaitable<void> accept_loop(std::shared_ptr<listener> l);
    // Runs on `strand`, the executor of `socket`.
    boost::asio::awaitable<void> start_connection(boost::asio::ip::tcp::socket socket,
                                                  connection::strand_type strand, bool websocket);

    boost::asio::io_context& io_;
    listen_addresses listen_;
    connection_options options_;
    client_registry& registry_;
    key_pool& keys_;
    connection_observer& observer_;
    proxy_counters& counters_;
    original_metrics& original_;
    core::memory_budget& memory_;
    core::logger& log_;
    std::vector<std::shared_ptr<listener>> listeners_;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t websocket_port_ = 0;
};

}  // namespace mgw::rsocket
