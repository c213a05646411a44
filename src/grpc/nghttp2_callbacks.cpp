// nghttp2's callbacks for a connection (see nghttp2_callbacks.hpp): each frame, header field,
// DATA chunk and stream close nghttp2 reads is turned into the stream's state and the
// connection's events, each DATA frame it sends is written from the stream's send_queue. Kept
// apart from the connection core, which installs them and owns everything they touch.
#include "nghttp2_callbacks.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <mgw/grpc/status.hpp>

#include "stream_state.hpp"

namespace mgw::grpc {

int connection::callbacks::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                            void* user_data) {
    connection& c = self(user_data);
    const stream_id id = frame->hd.stream_id;
    if (c.options_.side == role::server && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        c.streams_.emplace(id, std::make_unique<stream_state>(
                                   id, c.budget_, c.options_.max_receive_message_bytes));
        ++c.counters_.streams_opened;
        return 0;
    }
    if (stream_state* s = c.find(id)) {
        // Response headers or trailers: a fresh block.
        s->begin_header_block();
    }
    return 0;
}

int connection::callbacks::on_header(nghttp2_session*, const nghttp2_frame* frame,
                                     const std::uint8_t* name, std::size_t name_length,
                                     const std::uint8_t* value, std::size_t value_length,
                                     std::uint8_t, void* user_data) {
    connection& c = self(user_data);
    stream_state* s = c.find(frame->hd.stream_id);
    if (s == nullptr) {
        return 0;
    }
    s->collect_header(std::string_view(reinterpret_cast<const char*>(name), name_length),
                      std::string_view(reinterpret_cast<const char*>(value), value_length),
                      c.options_.max_header_list_bytes, c.options_.side == role::client);
    return 0;
}

int connection::callbacks::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                                         void* user_data) {
    connection& c = self(user_data);
    const auto& hd = frame->hd;
    switch (hd.type) {
        case NGHTTP2_HEADERS: {
            stream_state* s = c.find(hd.stream_id);
            if (s == nullptr) {
                break;
            }
            if (c.options_.side == role::server) {
                if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
                    c.on_request_headers_complete(*s);
                }
            } else {
                c.on_response_headers_complete(*s);
            }
            if ((hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
                c.end_of_peer_stream(*s);
            }
            break;
        }
        case NGHTTP2_DATA: {
            if (hd.length == 0 && (hd.flags & NGHTTP2_FLAG_END_STREAM) == 0 &&
                !c.empty_frames_.take(c.now_)) {
                c.fail(connection_failure::empty_frame_flood, NGHTTP2_ENHANCE_YOUR_CALM,
                       "empty_frames");
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            if ((hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
                if (stream_state* s = c.find(hd.stream_id)) {
                    c.end_of_peer_stream(*s);
                }
            }
            break;
        }
        case NGHTTP2_PRIORITY:
            if (!c.empty_frames_.take(c.now_)) {
                c.fail(connection_failure::empty_frame_flood, NGHTTP2_ENHANCE_YOUR_CALM,
                       "empty_frames");
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            break;
        case NGHTTP2_RST_STREAM:
            if (!c.resets_.take(c.now_)) {
                c.fail(connection_failure::rapid_reset, NGHTTP2_ENHANCE_YOUR_CALM,
                       "too_many_resets");
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            break;
        case NGHTTP2_SETTINGS:
            if ((hd.flags & NGHTTP2_FLAG_ACK) == 0 && !c.settings_.take(c.now_)) {
                c.fail(connection_failure::settings_flood, NGHTTP2_ENHANCE_YOUR_CALM,
                       "too_many_settings");
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            break;
        case NGHTTP2_PING:
            if ((hd.flags & NGHTTP2_FLAG_ACK) != 0) {
                c.ping_sent_at_.reset();
                break;
            }
            ++c.counters_.pings_received;
            if (c.options_.side == role::server &&
                !c.ping_policy_.on_ping(c.now_, c.streams_.size())) {
                c.fail(connection_failure::ping_flood, NGHTTP2_ENHANCE_YOUR_CALM, "too_many_pings");
                return NGHTTP2_ERR_CALLBACK_FAILURE;
            }
            break;
        case NGHTTP2_GOAWAY: {
            const auto& g = frame->goaway;
            c.pending_.push_back(goaway_received{
                g.last_stream_id, g.error_code,
                std::string(reinterpret_cast<const char*>(g.opaque_data), g.opaque_data_len)});
            break;
        }
        default:
            break;
    }
    return 0;
}

int connection::callbacks::on_data_chunk_recv(nghttp2_session*, std::uint8_t, std::int32_t stream,
                                              const std::uint8_t* data, std::size_t length,
                                              void* user_data) {
    connection& c = self(user_data);
    if (stream_state* s = c.find(stream)) {
        c.deliver_data(*s, std::string_view(reinterpret_cast<const char*>(data), length));
    }
    return 0;
}

int connection::callbacks::on_stream_close(nghttp2_session*, std::int32_t stream,
                                           std::uint32_t error_code, void* user_data) {
    self(user_data).close_stream(stream, error_code, self(user_data).pending_);
    return 0;
}

int connection::callbacks::on_frame_send(nghttp2_session*, const nghttp2_frame* frame,
                                         void* user_data) {
    connection& c = self(user_data);
    switch (frame->hd.type) {
        case NGHTTP2_HEADERS:
        case NGHTTP2_DATA:
            c.ping_policy_.on_data_sent();
            break;
        case NGHTTP2_RST_STREAM:
            // Ours carry CANCEL or the refusal's code; nghttp2 refuses streams over
            // SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM by itself.
            if (frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
                ++c.counters_.refusals[static_cast<std::size_t>(stream_refusal::too_many_streams)];
            }
            break;
        case NGHTTP2_GOAWAY:
            if (frame->goaway.error_code != NGHTTP2_NO_ERROR && !c.failure_) {
                c.failure_ = connection_failure::protocol;
            }
            break;
        case NGHTTP2_PING:
            if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
                ++c.counters_.pings_sent;
            }
            break;
        default:
            break;
    }
    return 0;
}

// How much of the stream's queue the next DATA frame carries. Nothing is copied here:
// NGHTTP2_DATA_FLAG_NO_COPY has nghttp2 call send_data(), which writes the frame into the
// output once, instead of nghttp2 copying it into its own buffer first.
ssize_t connection::callbacks::read_data(nghttp2_session* session, std::int32_t stream,
                                         std::uint8_t*, std::size_t length,
                                         std::uint32_t* data_flags, nghttp2_data_source* source,
                                         void*) {
    auto& s = *static_cast<stream_state*>(source->ptr);
    const std::size_t unsent = s.out.unsent_bytes();
    const std::size_t copied = std::min(length, unsent);
    if (copied > 0) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    }
    if (copied == unsent) {
        if (s.finishing && !s.trailers_sent) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
            s.trailers_sent = true;
            std::vector<nghttp2_nv> nva;
            const std::string status = std::to_string(static_cast<unsigned>(s.finish_status));
            const std::string message = percent_encode(s.finish_message);
            nva.push_back(make_nv("grpc-status", status));
            if (!message.empty()) {
                nva.push_back(make_nv("grpc-message", message));
            }
            for (const auto& [k, v] : s.finish_trailers.entries) {
                nva.push_back(make_nv(k, v));
            }
            nghttp2_submit_trailer(session, stream, nva.data(), nva.size());
        } else if (s.send_closed) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        } else if (copied == 0) {
            s.deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return static_cast<ssize_t>(copied);
}

// The DATA frame read_data() sized: its header, then `length` bytes of the queued messages
// (send_queue::write), straight into the output.
int connection::callbacks::send_data(nghttp2_session*, nghttp2_frame* frame,
                                     const std::uint8_t* header, std::size_t length,
                                     nghttp2_data_source* source, void* user_data) {
    connection& c = self(user_data);
    auto& s = *static_cast<stream_state*>(source->ptr);
    std::string& out = *c.output_;
    out.append(reinterpret_cast<const char*>(header), 9);
    const std::size_t padding = frame->data.padlen;
    if (padding > 0) {
        out += static_cast<char>(padding - 1);
    }
    s.out.write(out, length);
    if (padding > 1) {
        out.append(padding - 1, '\0');
    }
    // Enough for one write: the rest in the next take_output().
    return out.size() >= c.output_limit_ ? NGHTTP2_ERR_PAUSE : 0;
}
}  // namespace mgw::grpc
