// gRPC module: what a client connection's calls look like to the code that makes them. The
// channel (client.hpp) owns the socket and the connection core; a session is the
// application's I/O-free state machine, told about every step of the core and asked what to do
// next, so that it is unit tested against an in-memory server core without any socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/grpc/connection.hpp>

namespace mgw::grpc {

// Why a connection attempt or a connection ended, for a fixed-label counter.
enum class client_failure : std::uint8_t {
    connect,   // the name did not resolve, or TCP connect failed or timed out
    tls,       // the TLS handshake failed, or the server refused it right after (our certificate)
    alpn,      // the server did not agree to h2
    closed,    // the server closed or reset the connection
    protocol,  // the HTTP/2 connection failed (a protocol error, GOAWAY with an error, keepalive)
};
inline constexpr std::size_t client_failure_count = 5;
std::string_view to_string(client_failure failure);

// How a connection attempt or a connection ended.
struct client_outcome {
    std::optional<client_failure> failure;  // nullopt: connected / ended because the session asked
    std::string detail;  // for the log: OpenSSL's reason, the socket error, the HTTP/2 failure

    bool ok() const { return !failure.has_value(); }
};

class client_session {
  public:
    virtual ~client_session() = default;

    // The connection is up: TLS with ALPN h2, and the server's first bytes (its preface)
    // arrived, so the server accepted the TLS session, client certificate included. Open the
    // calls here; nothing is asked of the session before.
    virtual void on_open(connection& conn, clock::time_point now) = 0;

    // After every step of the core (bytes received, a write completed, its timers, the
    // transport lost), with the events that step produced, possibly none; also at
    // next_timer() and when the channel is poked. The session may send, open, half-close or
    // reset calls on `conn` from here; the channel writes what they produce.
    virtual void on_progress(connection& conn, std::vector<event>& events,
                             clock::time_point now) = 0;

    // When on_progress should be called without an event (a batch timer); max(): never.
    virtual clock::time_point next_timer() const = 0;

    // True once the session is done with the connection: the channel sends GOAWAY, writes what
    // is left and closes.
    virtual bool wants_close() const = 0;
};

}  // namespace mgw::grpc
