// gRPC module: a gRPC server on the gateway's io_context. TLS (1.2+, ALPN h2 required) in front
// of one connection core per client, driven by three coroutines on the connection's strand
// (reader, writer, timers); each call runs its method's handler coroutine on that strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/connection.hpp>

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}

namespace mgw::grpc {

struct server_options {
    std::string host;  // empty: every interface
    std::uint16_t port = 0;
    std::string cert_file;  // PEM chain and key: required, gRPC here is TLS only
    std::string key_file;
    connection_options connection;  // side is forced to server
    std::uint32_t max_connections = 1000;
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
    std::size_t max_write_bytes = std::size_t{256} * 1024;  // output gathered into one socket write
    std::string name = "grpc";  // the `listener` label of this server's metrics (set by code)
};

class server_connection;

// One call as its handler sees it. Every member must be used on the call's executor (the
// connection's strand), where the handler runs.
class server_call {
  public:
    using undelivered_function = std::function<void(std::vector<outgoing_message>)>;

    server_call(std::shared_ptr<server_connection> connection, call_started request,
                std::string method_label);
    ~server_call();
    server_call(const server_call&) = delete;
    server_call& operator=(const server_call&) = delete;

    const std::string& path() const { return request_.path; }
    const metadata& request_metadata() const { return request_.headers; }
    std::optional<clock::time_point> deadline() const { return request_.deadline; }
    boost::asio::any_io_executor get_executor() const;

    // The next request message; nullopt once the client half-closed with none left, or the
    // call is over.
    boost::asio::awaitable<std::optional<std::string>> read();

    // HEADERS now (a subscriber learns at once that it is subscribed).
    void start_response();
    // Non-blocking; `full`: wait with changed() for room.
    send_result send(outgoing_message message);
    std::size_t send_room() const;
    // Ends the call once what is queued is written (Trailers-Only when nothing was sent).
    void finish(status_code status, std::string_view message);

    // Messages that will not reach the client (reset, deadline, lost connection) go here, also
    // after the call ended.
    void on_undelivered(undelivered_function f) { undelivered_ = std::move(f); }
    // Called on every change (message, room, end of call, drain), after changed() is woken:
    // lets a handler also waiting on another source wake a channel of its own.
    void on_change(std::function<void()> f) { on_change_ = std::move(f); }

    // Completes on the next change (immediately if one happened since the last wait).
    boost::asio::awaitable<void> changed();

    bool done() const { return done_; }          // the stream is gone
    bool finished() const { return finished_; }  // finish() was called
    bool draining() const;                       // the server sent GOAWAY

  private:
    friend class server_connection;
    void notify();

    std::shared_ptr<server_connection> connection_;
    call_started request_;
    std::string method_label_;
    std::deque<std::string> inbox_;
    bool half_closed_ = false;
    bool done_ = false;
    bool finished_ = false;
    bool pending_change_ = false;
    status_code status_ = status_code::ok;
    boost::asio::steady_timer signal_;
    undelivered_function undelivered_;
    std::function<void()> on_change_;
};

using method_handler = std::function<boost::asio::awaitable<void>(std::shared_ptr<server_call>)>;

class server {
  public:
    // Loads the certificate and key (std::runtime_error when they cannot be loaded).
    server(boost::asio::io_context& io, server_options options, core::memory_budget& budget,
           core::logger& log, prometheus::Registry& registry);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // `path` is "/package.Service/Method". Before start().
    void add_method(std::string path, method_handler handler);

    // Binds and accepts (std::system_error when the address is taken).
    void start();
    std::uint16_t local_port() const;

    // Stops accepting, sends GOAWAY on every connection and waits for their calls to end and
    // the connections to close; at `deadline` closes what is left. True when all ended before.
    boost::asio::awaitable<bool> drain(clock::time_point deadline);
    // Closes everything now.
    void stop();

    std::size_t open_connections() const;

  private:
    friend class server_connection;
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::grpc
