// HTTP server module: one listener (plain or TLS) on the shared io_context. Each connection
// runs on its own strand; the server keeps track of them so that shutdown can drain them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include <mgw/http/router.hpp>
#include <mgw/http/server_options.hpp>

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}
namespace mgw::core {
class logger;
class memory_budget;
}  // namespace mgw::core

namespace mgw::http {

struct server_state;

class server {
  public:
    // Loads the TLS certificate and key when configured; throws std::runtime_error on a bad
    // certificate or key (startup misconfiguration).
    server(boost::asio::io_context& io, server_options options, router routes, core::logger& log,
           prometheus::Registry& registry);
    // Requests read ahead and complete answers being written lease their bytes from `memory`
    // (request_bodies, http_answer); a refusal is a 503 to that client only.
    server(boost::asio::io_context& io, server_options options, router routes, core::logger& log,
           prometheus::Registry& registry, core::memory_budget& memory);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds, listens and starts accepting; throws std::system_error when the address cannot be
    // bound. Connections are served by whatever threads run the io_context.
    void start();
    std::uint16_t local_port() const;

    // Closes the listening socket; established connections are served on.
    void stop_accepting();

    // Graceful shutdown (stops accepting first). Idle keep-alive connections are closed at
    // once, busy ones after their current response. At `deadline` the handlers still running
    // get total cancellation, then, after server_options::cancel_grace, terminal cancellation
    // and their sockets closed. Completes when every connection is gone; true when that
    // happened before `deadline`.
    boost::asio::awaitable<bool> drain(std::chrono::steady_clock::time_point deadline);

    std::size_t open_connections() const;

  private:
    server(boost::asio::io_context& io, server_options options, router routes, core::logger& log,
           prometheus::Registry& registry, core::memory_budget* memory);

    std::shared_ptr<server_state> state_;
};

}  // namespace mgw::http
