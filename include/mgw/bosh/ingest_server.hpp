// BOSH module: the TCP listener the HM plugin writes to (bosh.ingest_listen). Frames NDJSON
// lines, hands each to a sink, and acknowledges them so the plugin can drop what arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include <mgw/core/log.hpp>

namespace mgw::bosh {

// Ingest wire protocol: the plugin sends lines ending in '\n' (HM's own bytes). After handling
// what it read, the server writes the cumulative number of lines handled on this connection
// as a decimal line ("42\n"). Acks are coalesced and never block reading, so a sender that
// never reads them (the original Go plugin) still works.
struct ingest_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 25594;
    std::size_t max_line_bytes = 1 << 20;  // longer lines are skipped whole and counted
    std::size_t max_connections = 64;
};

class ingest_sink {
  public:
    // The complete lines of one read, without their newline (one call per read, so that the
    // sink can publish them under one lock). The views are valid during the call only.
    virtual void on_lines(std::span<const std::string_view> lines) = 0;
    virtual void on_oversized_line(std::size_t bytes) = 0;  // skipped, at least max_line_bytes
    virtual void on_connection_change(std::ptrdiff_t delta) = 0;  // +1 accepted, -1 closed

  protected:
    ~ingest_sink() = default;
};

class ingest_server {
  public:
    ingest_server(boost::asio::io_context& io, ingest_options options, ingest_sink& sink,
                  core::logger& log);
    ~ingest_server();
    ingest_server(const ingest_server&) = delete;
    ingest_server& operator=(const ingest_server&) = delete;

    // Binds and starts accepting; throws std::system_error when the address cannot be bound.
    void start();
    std::uint16_t local_port() const;
    // Stops accepting and closes every connection. Lines not yet acknowledged are the
    // plugin's to resend. Thread-safe.
    void stop();

  private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace mgw::bosh
