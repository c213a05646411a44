// BOSH module: the TCP listener the HM plugin writes to (bosh.ingest_listen). Frames NDJSON
// lines, hands each to a sink, and acknowledges them so the plugin can drop what arrived.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>

namespace mgw::bosh {

// Ingest wire protocol: the plugin sends lines ending in '\n' (HM's own bytes). After handling
// what it read, the server writes the cumulative number of lines handled on this connection
// as a decimal line ("42\n"). Acks are coalesced and never block reading, so a sender that
// never reads them (the original Go plugin) still works.
//
// The port is unauthenticated: whoever reaches it can write events. So it is refused on
// anything but a loopback address unless `allow_remote` says otherwise, no connection may hold
// a slot without delivering lines (idle_timeout), and no peer decides how much is buffered
// (max_line_bytes, leased from the memory budget).
struct ingest_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 25594;
    bool allow_remote = false;             // bosh.ingest_allow_remote
    std::size_t max_line_bytes = 1 << 20;  // longer lines are skipped whole and counted
    std::size_t max_connections = 64;      // bosh.ingest_max_connections; beyond: refused
    // A connection that completes no line for this long is closed (bosh.ingest_idle_timeout).
    // HM writes every agent's heartbeat; a quiet plugin reconnects when it has lines again.
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};
};

enum class skip_reason {
    too_long,  // the line passed max_line_bytes
    memory,    // the memory budget refused the bytes to assemble it
};

class ingest_sink {
  public:
    // The complete lines of one read, without their newline (one call per read, so that the
    // sink can publish them under one lock). The views are valid during the call only.
    virtual void on_lines(std::span<const std::string_view> lines) = 0;
    // A line skipped whole (`bytes`: as many as were seen of it).
    virtual void on_skipped_line(skip_reason reason, std::size_t bytes) = 0;
    virtual void on_connection_change(std::ptrdiff_t delta) = 0;  // +1 accepted, -1 closed
    virtual void on_connection_refused() = 0;                     // max_connections reached
    virtual void on_idle_timeout() = 0;                           // closed for idle_timeout

  protected:
    ~ingest_sink() = default;
};

class ingest_server {
  public:
    // `memory`: what assembling lines that span reads leases from (memory_use::bosh_queues).
    ingest_server(boost::asio::io_context& io, ingest_options options, ingest_sink& sink,
                  core::memory_budget& memory, core::logger& log);
    ~ingest_server();
    ingest_server(const ingest_server&) = delete;
    ingest_server& operator=(const ingest_server&) = delete;

    // Binds and starts accepting; throws std::system_error when the address cannot be bound,
    // std::invalid_argument when it is not a loopback address and allow_remote is false.
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
