// gRPC module: a gRPC client connection on the gateway's io_context, the counterpart of
// server.hpp. TCP and TLS (1.2+, ALPN h2, the server's certificate checked against a CA file
// and a server name, a client certificate for mutual TLS) under a deadline, then one
// connection core driven by a reader, a writer and a timer on the channel's strand, for one
// client_session. No thread of its own; reconnecting is the caller's (it knows its backoff).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/client_session.hpp>
#include <mgw/grpc/connection.hpp>

namespace mgw::grpc {

struct client_options {
    std::string host;  // a name or an IP literal
    std::uint16_t port = 0;
    // PEM files. ca_file verifies the server (empty: the system's trust store); cert_file and
    // key_file are the client's identity (both or neither).
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    // Sent as SNI (unless it is an IP literal) and required in the server's certificate (DNS
    // or IP SAN); `metron` for the Loggregator agent. Empty: the host.
    std::string server_name;
    connection_options connection;  // side is forced to client; authority defaults to host:port
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // TCP and TLS together
    std::size_t max_write_bytes = std::size_t{256} * 1024;  // output gathered into one socket write
};

class client_channel {
  public:
    using executor_type = boost::asio::strand<boost::asio::io_context::executor_type>;

    // Loads the CA, certificate and key (std::runtime_error when they cannot be loaded: a
    // start-up misconfiguration). `budget` must outlive the channel.
    client_channel(boost::asio::io_context& io, client_options options,
                   core::memory_budget& budget);
    ~client_channel();
    client_channel(const client_channel&) = delete;
    client_channel& operator=(const client_channel&) = delete;

    // Every member below runs on this strand.
    const executor_type& get_executor() const;

    // A new transport: resolve, TCP connect, TLS handshake, ALPN h2, all within connect_timeout.
    boost::asio::awaitable<client_outcome> connect();

    // HTTP/2 over the transport connect() made, for `session`, until the connection ends:
    // the session asked (GOAWAY sent, output flushed: ok()), the server closed it, or it failed.
    // Afterwards the core has reported everything unwritten as undelivered to the session.
    boost::asio::awaitable<client_outcome> run(client_session& session);

    // The session changed something outside its callbacks (messages to send, an earlier
    // timer): the channel calls on_progress and writes. A no-op when not running.
    void poke();

    // Ends the transport now (connect() and run() return). Any thread.
    void close();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::grpc
