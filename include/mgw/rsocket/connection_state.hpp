// RSocket module: the server side of one connection as an I/O-free state machine: SETUP first,
// keepalive per the client's SETUP, even stream ids for the proxy's requests, fragments joined.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <mgw/rsocket/frame.hpp>
#include <mgw/rsocket/reassembler.hpp>

namespace mgw::rsocket {

struct connection_limits {
    bool length_prefixed = true;  // TCP: 24-bit prefix on outbound frames; WebSocket: none
    std::size_t max_reassembly_bytes = 16 << 20;
    // The proxy never keeps more requests in flight on one connection than this.
    std::size_t max_pending_requests = 64;
    // Our own keepalive period is the client's, but never shorter than this.
    std::chrono::milliseconds min_keepalive_interval{100};
};

class connection_state {
  public:
    using clock = std::chrono::steady_clock;

    enum class event_kind : std::uint8_t {
        none,          // nothing for the shell (keepalive answered, a late reply dropped, ...)
        setup,         // the client's SETUP was accepted: send the key now
        response,      // a PAYLOAD answering one of our requests (`data`, `metadata`)
        stream_error,  // an ERROR answering one of our requests (`error`, `message`)
        push,          // the client sent metrics on its own (REQUEST_FNF or REQUEST_RESPONSE)
        close,         // close the connection after sending the outbound frames; `message`
    };

    struct event {
        event_kind kind = event_kind::none;
        std::uint32_t stream_id = 0;
        std::string_view metadata;  // views valid until the next on_frame()
        std::string_view data;
        bool has_metadata = false;
        bool needs_ack = false;  // push by REQUEST_RESPONSE: answer with push_ack(stream_id)
        std::uint32_t error = 0;
        std::string_view message;  // stream_error: the peer's text; close: our reason
        std::string_view counter;  // close on a protocol violation: a short, bounded reason
    };

    connection_state(connection_limits limits, clock::time_point now);

    // Handles one frame (without the TCP length prefix); frames to send are appended to
    // `outbound`, each already encoded for the transport.
    event on_frame(std::string_view bytes, clock::time_point now,
                   std::vector<std::string>& outbound);

    bool setup_done() const { return setup_done_; }
    // Bytes the reassembler holds (partial messages, the last completed one).
    std::size_t reassembly_bytes() const { return reassembler_.held_bytes(); }
    // Frees the last reassembled message once its event is handled.
    void release_reassembled() { reassembler_.release_done(); }
    bool closed() const { return closed_; }
    // The client's keepalive period (clamped) and max lifetime, from its SETUP.
    std::chrono::milliseconds keepalive_interval() const { return keepalive_interval_; }
    std::chrono::milliseconds max_lifetime() const { return max_lifetime_; }
    // No frame from the client for max lifetime (only after SETUP).
    bool silent_too_long(clock::time_point now) const;
    // Restarts the silence clock: for time the client's frames waited on us, not on it.
    void touch(clock::time_point now) { last_received_ = now; }

    // A new request of ours: REQUEST_RESPONSE or REQUEST_FNF with `data` and no metadata. Returns
    // the stream id (0 when max_pending_requests are in flight: the caller fails the request)
    // and appends the frame. REQUEST_FNF streams are not tracked (no answer comes).
    std::uint32_t start_request(frame_type type, std::string_view data, std::string& out);
    // Forgets a request (answered, or given up); with `cancel` the CANCEL frame is appended.
    void end_request(std::uint32_t stream_id, bool cancel, std::string& out);
    std::size_t pending_requests() const { return pending_.size(); }

    void keepalive(std::string& out) const;                          // KEEPALIVE with RESPOND
    void push_ack(std::uint32_t stream_id, std::string& out) const;  // empty PAYLOAD N|C
    void error(std::uint32_t stream_id, std::uint32_t code, std::string_view message,
               std::string& out) const;

  private:
    event close_with(std::uint32_t code, std::string_view message, std::string_view counter,
                     std::vector<std::string>& outbound);
    event handle(const frame& f, std::vector<std::string>& outbound);
    event handle_setup(const frame& f, std::vector<std::string>& outbound);
    void append(const frame& f, std::string& out) const;

    connection_limits limits_;
    reassembler reassembler_;
    bool setup_done_ = false;
    bool closed_ = false;
    clock::time_point last_received_;
    std::chrono::milliseconds keepalive_interval_{20000};
    std::chrono::milliseconds max_lifetime_{90000};
    std::uint32_t next_stream_id_ = 2;
    std::unordered_set<std::uint32_t> pending_;
    std::string message_;  // backs event::message for our own texts
};

}  // namespace mgw::rsocket
