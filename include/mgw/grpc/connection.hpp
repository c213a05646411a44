// gRPC module: one HTTP/2 connection carrying gRPC calls, as an I/O-free state machine over
// nghttp2. The shell feeds it the bytes it read and the time, takes the bytes to write, and
// reacts to the events it yields (call started, message, half-close, response, status, stream
// closed, messages that never reached the socket). Server and client side alike.
//
// What it owns: HTTP/2 framing and HPACK (nghttp2, with no I/O of its own: mem_recv/mem_send),
// gRPC message framing and size limits, request validation (method, content-type, encoding,
// grpc-timeout), Trailers-Only and trailers, deadlines, one bounded send queue per stream whose
// bytes are leased from the memory budget, keepalive pings, the ping policy, GOAWAY on drain,
// and the HTTP/2 flood defences nghttp2 1.52 does not have (see docs/GRPC.md).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/frame_budget.hpp>
#include <mgw/grpc/message_framing.hpp>
#include <mgw/grpc/ping_policy.hpp>
#include <mgw/grpc/status.hpp>

struct nghttp2_session;

namespace mgw::grpc {

using stream_id = std::int32_t;
using clock = std::chrono::steady_clock;

enum class role : std::uint8_t { server, client };

// Request or response metadata: lower-case names (HTTP/2 requires it), values as received;
// `-bin` values stay base64 as on the wire.
struct metadata {
    std::vector<std::pair<std::string, std::string>> entries;

    // The first value of `name`, if any.
    std::optional<std::string_view> find(std::string_view name) const;
    void add(std::string name, std::string value) {
        entries.emplace_back(std::move(name), std::move(value));
    }
};

// One length-prefixed message to send. `owner` keeps its bytes alive and is what the
// application gets back when the message could not be written (to requeue it elsewhere):
// messages shared by many streams are encoded once.
struct outgoing_message {
    std::shared_ptr<const void> owner;
    std::string_view framed;  // prefix and payload, as frame_message() writes them
    // More of the message, after `framed` (owned by `owner` too): a message gathered from
    // buffers that were never copied together, written into the DATA frames piece by piece.
    std::span<const std::string_view> more{};

    std::size_t size() const {
        std::size_t n = framed.size();
        for (std::string_view piece : more) {
            n += piece.size();
        }
        return n;
    }

    // A message owning its own bytes (the payload is framed here).
    static outgoing_message copy_of(std::string_view payload);
};

// Why a connection ends early; the `reason` label of mgw_grpc_connection_errors_total.
enum class connection_failure : std::uint8_t {
    protocol,            // malformed HTTP/2 (nghttp2 answered with GOAWAY)
    bad_preface,         // not an HTTP/2 client
    rapid_reset,         // RST_STREAM faster than the reset budget (CVE-2023-44487)
    settings_flood,      // SETTINGS faster than the settings budget
    empty_frame_flood,   // empty DATA, PRIORITY or unknown frames faster than their budget
    continuation_flood,  // more CONTINUATION frames than nghttp2 allows (CVE-2024-28182)
    ping_flood,          // pings against the ping policy: GOAWAY too_many_pings
    outbound_flood,      // the peer does not read our ACKs (nghttp2's outbound limit)
    keepalive_timeout,   // our PING went unanswered
    peer_goaway_error,   // the peer closed with an error code
};
inline constexpr std::size_t connection_failure_count = 10;
std::string_view to_string(connection_failure failure);

// Streams refused or reset by this side for breaking a limit; the `reason` label of
// mgw_grpc_stream_refusals_total.
enum class stream_refusal : std::uint8_t {
    too_many_streams,  // beyond SETTINGS_MAX_CONCURRENT_STREAMS (nghttp2 sends REFUSED_STREAM)
    header_list_size,  // decoded header list over max_header_list_bytes (HPACK bomb included)
    message_size,      // a received message over max_receive_message_bytes
    not_grpc,          // method, content-type or path that is not a gRPC request (HTTP 4xx)
    bad_request,       // malformed grpc-timeout, compressed or truncated message, ...
    memory,            // the memory budget refused the stream's buffers
    draining,          // a new stream after our GOAWAY
};
inline constexpr std::size_t stream_refusal_count = 7;
std::string_view to_string(stream_refusal refusal);

struct connection_options {
    role side = role::server;
    // Advertised and enforced (SETTINGS_MAX_CONCURRENT_STREAMS).
    std::uint32_t max_concurrent_streams = 100;
    // Advertised (SETTINGS_MAX_HEADER_LIST_SIZE) and enforced on the decoded list, counting
    // name + value + 32 per field as RFC 9113 does.
    std::uint32_t max_header_list_bytes = 16 * 1024;
    std::uint32_t max_receive_message_bytes = 4 * 1024 * 1024;
    // Per stream: messages queued or not yet confirmed written. A send beyond it is refused
    // (the caller waits for room).
    std::size_t max_send_queue_bytes = std::size_t{1024} * 1024;
    // Our receive window per stream and for the connection.
    std::uint32_t initial_window_bytes = 1024 * 1024;

    // Keepalive: a PING after this long without any frame from the peer, and the connection
    // dropped when its ACK is not back within keepalive_timeout. Zero: no keepalive pings.
    std::chrono::milliseconds keepalive_time{std::chrono::minutes(1)};
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(20)};
    // Client side: keep pinging when no call is open (the forwarder does).
    bool keepalive_without_calls = true;
    ping_policy_options ping_policy;  // server side: which client pings are accepted

    // Flood defences (frames per connection): burst, then per second.
    std::uint32_t reset_burst = 200;
    std::uint32_t resets_per_second = 20;
    std::uint32_t settings_burst = 50;
    std::uint32_t settings_per_second = 5;
    std::uint32_t empty_frame_burst = 100;
    std::uint32_t empty_frames_per_second = 10;

    // Client side: the :authority and :scheme of requests.
    std::string authority;
    std::string scheme = "https";
};

// --- events --------------------------------------------------------------------------------

// Server: a valid gRPC request's headers arrived.
struct call_started {
    stream_id stream = 0;
    std::string path;  // "/definitions.Egress/BoshMetrics"
    std::string authority;
    metadata headers;  // everything but pseudo-headers and the transport's own (te, grpc-timeout)
    std::optional<clock::time_point> deadline;  // from grpc-timeout
};
// A complete message arrived (server: request message; client: response message).
struct message_received {
    stream_id stream = 0;
    std::string payload;
};
// Server: the client sent END_STREAM (no more request messages).
struct half_closed {
    stream_id stream = 0;
};
// Client: response headers (not a Trailers-Only response).
struct response_started {
    stream_id stream = 0;
    metadata headers;
};
// Client: the call ended with this status (trailers, Trailers-Only, or a reset/transport error
// mapped to a status as grpc-go maps them).
struct call_finished {
    stream_id stream = 0;
    status_code status = status_code::unknown;
    std::string message;  // decoded grpc-message
    metadata trailers;
};
// The stream is gone (both sides); no event for it follows. `reset` when it ended with
// RST_STREAM (either side) instead of our or the peer's END_STREAM.
struct stream_closed {
    stream_id stream = 0;
    std::uint32_t h2_error = 0;
    bool reset = false;
};
// Messages that will never reach the socket (stream reset or ended, deadline, connection
// lost): the application may requeue them.
struct messages_undelivered {
    stream_id stream = 0;
    std::vector<outgoing_message> messages;
};
// A stream has room in its send queue again (after send_message refused or filled it).
struct stream_writable {
    stream_id stream = 0;
};
// The peer sent GOAWAY: no stream above last_stream_id was processed.
struct goaway_received {
    stream_id last_stream_id = 0;
    std::uint32_t h2_error = 0;
    std::string debug;
};

using event =
    std::variant<call_started, message_received, half_closed, response_started, call_finished,
                 stream_closed, messages_undelivered, stream_writable, goaway_received>;

// Counts since the connection began, by fixed reason (the shell mirrors them into metrics).
struct connection_counters {
    std::array<std::uint64_t, stream_refusal_count> refusals{};
    std::uint64_t pings_received = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t streams_opened = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t messages_sent = 0;  // confirmed written to the transport
};

enum class send_result : std::uint8_t {
    queued,
    full,    // the stream's send queue is at its bound: wait for stream_writable
    closed,  // no such stream, or it is finishing or gone
    memory,  // the memory budget refused the bytes
};

class connection {
  public:
    // `budget` must outlive the connection. A server connection expects the client preface; a
    // client connection queues its own preface at once. Both queue their SETTINGS at once.
    connection(connection_options options, core::memory_budget& budget, clock::time_point now);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Bytes read from the transport. Events are appended to `events`. Returns false when the
    // connection must end (a failure, or GOAWAY exchanged and nothing left): flush the output,
    // then close.
    bool receive(std::string_view bytes, clock::time_point now, std::vector<event>& events);

    // Up to about `max_bytes` of output (whole frames) appended to `out`; empty when there is
    // nothing to send. The messages copied out are confirmed by output_written().
    void take_output(std::string& out, std::size_t max_bytes, std::vector<event>& events);
    // The last take_output()'s bytes were written to the transport.
    void output_written(std::vector<event>& events);
    bool wants_write() const;

    // Timers: deadlines, keepalive. Call at next_timer() (or any time after).
    void on_timer(clock::time_point now, std::vector<event>& events);
    clock::time_point next_timer() const;

    // The transport is gone: every message not confirmed written is reported undelivered and
    // every stream closed.
    void transport_lost(std::vector<event>& events);

    // Server: start the response (HEADERS :status 200, content-type). Implicit on the first
    // send_message; explicit to tell the client at once that it is subscribed.
    bool start_response(stream_id stream, const metadata& headers = {});
    // Server and client: queue one message.
    send_result send_message(stream_id stream, outgoing_message message);
    // Room left in the stream's send queue (bytes); 0 when it cannot take more, and from a
    // refused send until stream_writable.
    std::size_t send_room(stream_id stream) const;
    // Server: end the call once the queued messages are written (trailers, or Trailers-Only
    // when nothing was sent).
    void finish(stream_id stream, status_code status, std::string_view message,
                const metadata& trailers = {});
    // Either side: RST_STREAM (CANCEL: 8); queued messages are reported undelivered when it
    // has left.
    void reset(stream_id stream, std::uint32_t h2_error);

    // Client: open a call. nullopt when no stream can be opened (GOAWAY, ids exhausted, limit).
    std::optional<stream_id> start_call(std::string_view path, const metadata& headers,
                                        std::optional<std::chrono::nanoseconds> timeout,
                                        clock::time_point now);
    // Client: no more request messages (END_STREAM after the queued ones).
    void close_send(stream_id stream);

    // Drain: GOAWAY (a shutdown notice first, then the final one with the last stream we
    // processed, as graceful gRPC servers do); open streams go on.
    void shutdown(clock::time_point now);
    // The connection is over (failure, or GOAWAY done and no stream left): flush, then close.
    bool closing() const { return failure_.has_value() || terminated_ || session_dead_; }
    std::optional<connection_failure> failure() const { return failure_; }
    bool draining() const { return draining_; }

    std::size_t open_streams() const { return streams_.size(); }
    const connection_counters& counters() const { return counters_; }
    // Bytes of one stream's send queue (queued and not confirmed written).
    std::size_t queued_bytes(stream_id stream) const;

  private:
    struct stream_state;  // src/grpc/stream_state.hpp, with its send_queue (send_queue.hpp)
    struct callbacks;     // nghttp2's callbacks: src/grpc/nghttp2_callbacks.hpp
    friend struct callbacks;

    stream_state* find(stream_id id) const;
    void fail(connection_failure failure, std::uint32_t h2_error, std::string_view debug);
    void refuse(stream_state& s, stream_refusal why, status_code status, std::string_view message);
    void finish_or_reset(stream_state& s, status_code status, std::string_view message);
    void flush_pending(std::vector<event>& events);
    void close_stream(stream_id id, std::uint32_t h2_error, std::vector<event>& events);
    void resume(stream_state& s);
    bool submit_headers_response(stream_state& s, const metadata& extra, bool end_stream,
                                 status_code status, std::string_view message);
    void on_request_headers_complete(stream_state& s);
    void on_response_headers_complete(stream_state& s);
    void deliver_data(stream_state& s, std::string_view data);
    void end_of_peer_stream(stream_state& s);
    void note_activity(clock::time_point now);

    connection_options options_;
    core::memory_budget& budget_;
    nghttp2_session* session_ = nullptr;
    std::unordered_map<stream_id, std::unique_ptr<stream_state>> streams_;
    std::vector<event> pending_;  // appended by callbacks, handed out by the public calls
    // take_output()'s string while nghttp2 writes DATA frames into it, and how much is enough.
    std::string* output_ = nullptr;
    std::size_t output_limit_ = 0;
    clock::time_point now_;

    // Messages of streams already closed whose bytes are in the output being written.
    std::vector<std::pair<stream_id, outgoing_message>> closed_in_flight_;

    ping_policy ping_policy_;
    frame_budget resets_;
    frame_budget settings_;
    frame_budget empty_frames_;
    clock::time_point last_received_;
    std::optional<clock::time_point> ping_sent_at_;
    std::uint64_t ping_counter_ = 0;

    std::optional<connection_failure> failure_;
    std::string failure_goaway_;  // our own GOAWAY frame when nghttp2 can no longer write one
    bool session_dead_ = false;   // nghttp2 must not be called any more (fatal error)
    bool terminated_ = false;     // nghttp2 wants neither read nor write
    bool draining_ = false;
    bool final_goaway_sent_ = false;
    std::optional<clock::time_point> final_goaway_at_;
    connection_counters counters_;
};

}  // namespace mgw::grpc
