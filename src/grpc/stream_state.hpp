// gRPC module, internal: what a connection keeps of one stream, the header block being
// received, the message being read, the send queue and where the call stands. Split from the
// connection core so that the core reads as the HTTP/2 state machine (frames in, frames out,
// events) while the per-stream bookkeeping it consults, and the header collection nghttp2 feeds
// field by field, live in one place.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/connection.hpp>
#include <mgw/grpc/message_framing.hpp>
#include <mgw/grpc/status.hpp>

#include "send_queue.hpp"

namespace mgw::grpc {

struct connection::stream_state {
    stream_state(stream_id i, core::memory_budget& budget, std::size_t max_message)
        : id(i),
          reader(max_message),
          receive_lease(budget.empty_lease(core::memory_use::grpc_streams)),
          out(budget.empty_lease(core::memory_use::grpc_streams)) {}

    // A new header block (response headers or trailers) replaces what the last one left.
    void begin_header_block();
    // One decoded field of the block. Counted decoded (name + value + 32, as RFC 9113 does), so
    // an HPACK bomb, small on the wire and huge decoded, is caught: once the block is over
    // `max_header_list_bytes` nothing more of it is kept. A server keeps the transport's own
    // headers out of the call's metadata (`keep_transport_headers` false); a client keeps all.
    void collect_header(std::string_view name, std::string_view value,
                        std::size_t max_header_list_bytes, bool keep_transport_headers);

    stream_id id;

    // Header block being received (request headers, response headers or trailers).
    metadata headers;
    std::string method, path, authority, content_type, http_status, te, timeout, encoding;
    std::string grpc_status, grpc_message;
    std::size_t header_bytes = 0;
    bool header_overflow = false;

    message_reader reader;
    core::memory_lease receive_lease;
    bool peer_ended = false;
    bool responded = false;  // server: a response (or refusal) was submitted

    // Send side: the messages, and what the stream's data provider must do once they are out.
    send_queue out;
    bool data_attached = false;  // a data provider is attached (response or request started)
    bool deferred = false;       // its read callback returned DEFERRED
    bool finishing = false;      // server: trailers to send once the queue is empty
    bool trailers_sent = false;
    status_code finish_status = status_code::ok;
    std::string finish_message;
    metadata finish_trailers;
    bool send_closed = false;        // client: END_STREAM once the queue is empty
    bool blocked = false;            // a send was refused for lack of room
    bool finished_reported = false;  // client: call_finished emitted
    std::optional<clock::time_point> deadline;
};

}  // namespace mgw::grpc
