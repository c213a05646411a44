// The gRPC connection core: nghttp2's callbacks (nghttp2_callbacks.cpp) fill a per-stream
// state; the public methods submit frames; mem_recv/mem_send move the bytes. nghttp2 calls back
// only from inside mem_recv and mem_send, so every event is produced there and handed out by the
// method that called them. What the core keeps of each stream is stream_state
// (stream_state.hpp); the bytes a stream sends wait in its send_queue (send_queue.cpp), which
// writes them into DATA frames. What an HTTP status or a reset means to a call, and the GOAWAY
// the core writes itself, are in transport_status.cpp.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <nghttp2/nghttp2.h>

#include <mgw/grpc/connection.hpp>

#include "nghttp2_callbacks.hpp"
#include "stream_state.hpp"
#include "timeout.hpp"
#include "transport_status.hpp"

namespace mgw::grpc {

namespace {

constexpr std::array<std::string_view, connection_failure_count> failure_names{
    "protocol",           "bad_preface", "rapid_reset",    "settings_flood",    "empty_frame_flood",
    "continuation_flood", "ping_flood",  "outbound_flood", "keepalive_timeout", "peer_goaway_error",
};

constexpr std::array<std::string_view, stream_refusal_count> refusal_names{
    "too_many_streams", "header_list_size", "message_size", "not_grpc",
    "bad_request",      "memory",           "draining",
};

constexpr std::string_view grpc_content_type = "application/grpc";
// How long a draining server waits between the shutdown notice and the final GOAWAY, so that
// requests already in flight when the notice left are still accepted (RFC 9113 §6.8).
constexpr auto goaway_grace = std::chrono::seconds(1);

}  // namespace

std::string_view to_string(connection_failure failure) {
    return failure_names.at(static_cast<std::size_t>(failure));
}

std::string_view to_string(stream_refusal refusal) {
    return refusal_names.at(static_cast<std::size_t>(refusal));
}

std::optional<std::string_view> metadata::find(std::string_view name) const {
    for (const auto& [key, value] : entries) {
        if (key == name) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

connection::connection(connection_options options, core::memory_budget& budget,
                       clock::time_point now)
    : options_(std::move(options)),
      budget_(budget),
      now_(now),
      ping_policy_(options_.ping_policy),
      resets_(options_.reset_burst, options_.resets_per_second, now),
      settings_(options_.settings_burst, options_.settings_per_second, now),
      empty_frames_(options_.empty_frame_burst, options_.empty_frames_per_second, now),
      last_received_(now) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &callbacks::on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &callbacks::on_frame_send);
    nghttp2_session_callbacks_set_send_data_callback(cbs, &callbacks::send_data);

    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // Closed streams are not kept for the priority tree (gRPC uses no priorities).
    nghttp2_option_set_no_closed_streams(opt, 1);
    // nghttp2's own reset limiter (the Debian fix for CVE-2023-44487) stays as a backstop
    // behind ours, which counts and answers ENHANCE_YOUR_CALM first.
    nghttp2_option_set_stream_reset_rate_limit(opt, std::uint64_t{options_.reset_burst} * 2,
                                               std::uint64_t{options_.resets_per_second} * 2);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    if (options_.side == role::server) {
        nghttp2_session_server_new2(&session_, cbs, this, opt);
    } else {
        nghttp2_session_client_new2(&session_, cbs, this, opt);
    }
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);

    std::vector<nghttp2_settings_entry> settings{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.max_header_list_bytes},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.initial_window_bytes},
    };
    if (options_.side == role::client) {
        settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
    }
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(options_.initial_window_bytes));
}

connection::~connection() {
    nghttp2_session_del(session_);
}

connection::stream_state* connection::find(stream_id id) const {
    const auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
}

void connection::flush_pending(std::vector<event>& events) {
    if (events.empty()) {
        events.swap(pending_);
    } else {
        std::move(pending_.begin(), pending_.end(), std::back_inserter(events));
    }
    pending_.clear();
}

void connection::fail(connection_failure failure, std::uint32_t h2_error, std::string_view debug) {
    if (failure_) {
        return;
    }
    failure_ = failure;
    // Called from inside mem_recv, which the callback stops: the session cannot write any more,
    // so the GOAWAY is ours.
    failure_goaway_ =
        goaway_frame(nghttp2_session_get_last_proc_stream_id(session_), h2_error, debug);
    session_dead_ = true;
}

void connection::note_activity(clock::time_point now) {
    now_ = now;
    last_received_ = now;
}

bool connection::receive(std::string_view bytes, clock::time_point now,
                         std::vector<event>& events) {
    if (session_dead_ || terminated_) {
        return false;
    }
    note_activity(now);
    const ssize_t rv = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (rv < 0) {
        if (!failure_) {
            switch (rv) {
                case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
                    failure_ = connection_failure::bad_preface;
                    break;
                case NGHTTP2_ERR_FLOODED:
                    failure_ = connection_failure::outbound_flood;
                    break;
                case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
                    failure_ = connection_failure::continuation_flood;
                    break;
                default:
                    failure_ = connection_failure::protocol;
                    break;
            }
            if (rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
                const std::uint32_t code =
                    rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                        ? NGHTTP2_ENHANCE_YOUR_CALM
                        : NGHTTP2_PROTOCOL_ERROR;
                failure_goaway_ =
                    goaway_frame(nghttp2_session_get_last_proc_stream_id(session_), code, "");
            }
        }
        session_dead_ = true;
        flush_pending(events);
        return false;
    }
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
        terminated_ = true;
    }
    flush_pending(events);
    return !terminated_ && !failure_;
}

bool connection::wants_write() const {
    if (!failure_goaway_.empty()) {
        return true;
    }
    return !session_dead_ && nghttp2_session_want_write(session_) != 0;
}

void connection::take_output(std::string& out, std::size_t max_bytes, std::vector<event>& events) {
    if (!failure_goaway_.empty()) {
        out += failure_goaway_;
        failure_goaway_.clear();
        return;
    }
    if (session_dead_) {
        return;
    }
    output_ = &out;
    output_limit_ = max_bytes;
    while (out.size() < max_bytes) {
        const std::uint8_t* data = nullptr;
        // DATA frames are written to `out` by send_data() from inside; the other frames come
        // back here. Zero: nothing left, or send_data() paused with `out` full.
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
            if (!failure_) {
                failure_ = n == NGHTTP2_ERR_FLOODED ? connection_failure::outbound_flood
                                                    : connection_failure::protocol;
            }
            session_dead_ = true;
            break;
        }
        if (n == 0) {
            break;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    output_ = nullptr;
    if (!session_dead_ && nghttp2_session_want_read(session_) == 0 &&
        nghttp2_session_want_write(session_) == 0) {
        terminated_ = true;
    }
    flush_pending(events);
}

void connection::output_written(std::vector<event>& events) {
    for (auto& [id, s] : streams_) {
        const std::size_t written = s->out.confirm_written();
        if (written == 0) {
            continue;
        }
        counters_.messages_sent += written;
        if (s->blocked && s->out.queued_bytes() < options_.max_send_queue_bytes) {
            s->blocked = false;
            events.push_back(stream_writable{id});
        }
    }
    counters_.messages_sent += closed_in_flight_.size();
    closed_in_flight_.clear();
    flush_pending(events);
}

void connection::transport_lost(std::vector<event>& events) {
    std::vector<stream_id> ids;
    ids.reserve(streams_.size());
    for (const auto& [id, s] : streams_) {
        ids.push_back(id);
    }
    for (stream_id id : ids) {
        close_stream(id, NGHTTP2_CANCEL, pending_);
    }
    // Closed earlier, but their last bytes were in the write that failed.
    std::map<stream_id, std::vector<outgoing_message>> lost;
    for (auto& [id, m] : closed_in_flight_) {
        lost[id].push_back(std::move(m));
    }
    closed_in_flight_.clear();
    for (auto& [id, messages] : lost) {
        pending_.push_back(messages_undelivered{id, std::move(messages)});
    }
    session_dead_ = true;
    flush_pending(events);
}

void connection::close_stream(stream_id id, std::uint32_t h2_error, std::vector<event>& events) {
    const auto it = streams_.find(id);
    if (it == streams_.end()) {
        return;
    }
    stream_state& s = *it->second;
    const bool reset = h2_error != NGHTTP2_NO_ERROR ||
                       (options_.side == role::server && !s.trailers_sent && !s.responded);
    std::vector<outgoing_message> undelivered;
    if (reset) {
        // The peer discards whatever arrives after its reset, and ours stops the rest.
        s.out.take_handed(undelivered);
    } else {
        std::vector<outgoing_message> in_flight;
        s.out.take_handed(in_flight);
        for (outgoing_message& m : in_flight) {
            closed_in_flight_.emplace_back(id, std::move(m));
        }
    }
    s.out.take_queued(undelivered);
    if (!undelivered.empty()) {
        events.push_back(messages_undelivered{id, std::move(undelivered)});
    }
    if (options_.side == role::client && !s.finished_reported) {
        s.finished_reported = true;
        events.push_back(
            call_finished{id,
                          status_of_reset(h2_error),
                          h2_error == NGHTTP2_NO_ERROR
                              ? "stream closed without a status"
                              : "stream reset with HTTP/2 error " + std::to_string(h2_error),
                          {}});
    }
    events.push_back(stream_closed{id, h2_error, reset});
    streams_.erase(it);
}

void connection::refuse(stream_state& s, stream_refusal why, status_code status,
                        std::string_view message) {
    ++counters_.refusals[static_cast<std::size_t>(why)];
    if (s.responded) {
        // Response already under way: trailers with the status, the queue dropped.
        finish(s.id, status, message);
        return;
    }
    metadata extra;
    if (status == status_code::unimplemented && why == stream_refusal::bad_request) {
        extra.add("grpc-accept-encoding", "identity");
    }
    submit_headers_response(s, extra, true, status, message);
}

bool connection::submit_headers_response(stream_state& s, const metadata& extra, bool end_stream,
                                         status_code status, std::string_view message) {
    std::vector<nghttp2_nv> nva;
    nva.push_back(make_nv(":status", "200"));
    nva.push_back(make_nv("content-type", grpc_content_type));
    const std::string status_text = std::to_string(static_cast<unsigned>(status));
    const std::string encoded = percent_encode(message);
    if (end_stream) {
        // Trailers-Only: the status in the one HEADERS frame.
        nva.push_back(make_nv("grpc-status", status_text));
        if (!encoded.empty()) {
            nva.push_back(make_nv("grpc-message", encoded));
        }
    }
    for (const auto& [k, v] : extra.entries) {
        nva.push_back(make_nv(k, v));
    }
    s.responded = true;
    if (end_stream) {
        s.trailers_sent = true;
        s.finishing = true;
        return nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), nullptr) == 0;
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = &callbacks::read_data;
    s.data_attached = true;
    return nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), &provider) == 0;
}

void connection::on_request_headers_complete(stream_state& s) {
    if (draining_ && final_goaway_sent_) {
        ++counters_.refusals[static_cast<std::size_t>(stream_refusal::draining)];
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    if (s.header_overflow) {
        refuse(
            s, stream_refusal::header_list_size, status_code::resource_exhausted,
            "header list larger than " + std::to_string(options_.max_header_list_bytes) + " bytes");
        return;
    }
    const bool grpc_type = s.content_type.starts_with(grpc_content_type) &&
                           (s.content_type.size() == grpc_content_type.size() ||
                            s.content_type[grpc_content_type.size()] == '+' ||
                            s.content_type[grpc_content_type.size()] == ';');
    if (s.method != "POST" || !grpc_type) {
        // Not gRPC at all: a plain HTTP answer, as the protocol spec asks (405 / 415).
        ++counters_.refusals[static_cast<std::size_t>(stream_refusal::not_grpc)];
        const std::string_view status = s.method != "POST" ? "405" : "415";
        std::array<nghttp2_nv, 1> nva{make_nv(":status", status)};
        s.responded = true;
        s.trailers_sent = true;
        nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), nullptr);
        return;
    }
    const std::string_view subtype =
        std::string_view(s.content_type).substr(grpc_content_type.size());
    if (subtype.starts_with('+') && subtype != "+proto" && !subtype.starts_with("+proto;")) {
        refuse(s, stream_refusal::bad_request, status_code::unimplemented,
               "content-subtype " + std::string(subtype.substr(1)) + " is not supported");
        return;
    }
    if (!s.encoding.empty() && s.encoding != "identity") {
        refuse(s, stream_refusal::bad_request, status_code::unimplemented,
               "grpc-encoding " + s.encoding + " is not supported, only identity");
        return;
    }
    std::optional<clock::time_point> deadline;
    if (!s.timeout.empty()) {
        const auto timeout = parse_timeout(s.timeout);
        if (!timeout) {
            refuse(s, stream_refusal::bad_request, status_code::internal,
                   "malformed grpc-timeout: " + s.timeout);
            return;
        }
        // A timeout beyond what the clock can hold (grpc-timeout allows 11,000 years) is no
        // deadline.
        if (*timeout < clock::time_point::max() - now_) {
            deadline = now_ + std::chrono::duration_cast<clock::duration>(*timeout);
        }
    }
    s.deadline = deadline;
    pending_.push_back(call_started{s.id, std::move(s.path), std::move(s.authority),
                                    std::move(s.headers), deadline});
    s.headers.entries.clear();
}

void connection::on_response_headers_complete(stream_state& s) {
    if (s.finished_reported) {
        return;
    }
    const bool trailers = !s.http_status.empty() && s.data_attached && s.responded;
    if (!trailers) {
        // Response headers (the first block), possibly Trailers-Only.
        s.responded = true;
        if (s.http_status != "200") {
            s.finished_reported = true;
            pending_.push_back(call_finished{s.id, status_of_http(s.http_status),
                                             "HTTP status " + s.http_status, std::move(s.headers)});
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
            return;
        }
        if (s.grpc_status.empty()) {
            pending_.push_back(response_started{s.id, std::move(s.headers)});
            s.headers.entries.clear();
            return;
        }
    }
    s.finished_reported = true;
    const auto code = parse_status_code(s.grpc_status);
    pending_.push_back(call_finished{s.id, code.value_or(status_code::unknown),
                                     percent_decode(s.grpc_message), std::move(s.headers)});
    s.headers.entries.clear();
}

void connection::deliver_data(stream_state& s, std::string_view data) {
    while (!data.empty() && s.reader.failure() == message_reader::error::none) {
        const std::size_t before = s.reader.partial_bytes();
        const std::size_t used = s.reader.feed(data);
        data.remove_prefix(used);
        const std::size_t after = s.reader.partial_bytes();
        if (after > before && !s.receive_lease.grow(after - before)) {
            ++counters_.refusals[static_cast<std::size_t>(stream_refusal::memory)];
            if (options_.side == role::server) {
                finish_or_reset(s, status_code::resource_exhausted,
                                "the gateway's memory limit is reached");
            } else {
                nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
            }
            return;
        }
        if (s.reader.has_message()) {
            std::string payload = s.reader.take_message();
            s.receive_lease.reset();
            ++counters_.messages_received;
            pending_.push_back(message_received{s.id, std::move(payload)});
        }
    }
    switch (s.reader.failure()) {
        case message_reader::error::none:
            return;
        case message_reader::error::too_large:
            ++counters_.refusals[static_cast<std::size_t>(stream_refusal::message_size)];
            finish_or_reset(s, status_code::resource_exhausted,
                            "message of " + std::to_string(s.reader.announced_bytes()) +
                                " bytes is larger than the limit of " +
                                std::to_string(options_.max_receive_message_bytes));
            break;
        case message_reader::error::compressed:
            ++counters_.refusals[static_cast<std::size_t>(stream_refusal::bad_request)];
            finish_or_reset(s, status_code::unimplemented,
                            "compressed messages are not supported (grpc-encoding identity)");
            break;
        case message_reader::error::bad_flag:
            ++counters_.refusals[static_cast<std::size_t>(stream_refusal::bad_request)];
            finish_or_reset(s, status_code::internal, "invalid message compression flag");
            break;
    }
    // Nothing more is read from this stream.
    s.peer_ended = true;
}

void connection::finish_or_reset(stream_state& s, status_code status, std::string_view message) {
    if (options_.side == role::server) {
        if (!s.responded) {
            submit_headers_response(s, {}, true, status, message);
        } else {
            finish(s.id, status, message);
        }
        return;
    }
    if (!s.finished_reported) {
        s.finished_reported = true;
        pending_.push_back(call_finished{s.id, status, std::string(message), {}});
    }
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
}

void connection::end_of_peer_stream(stream_state& s) {
    if (s.peer_ended) {
        return;
    }
    s.peer_ended = true;
    if (options_.side == role::client) {
        return;
    }
    if (s.reader.partial_bytes() > 0) {
        ++counters_.refusals[static_cast<std::size_t>(stream_refusal::bad_request)];
        finish_or_reset(s, status_code::internal, "request ended inside a message");
        return;
    }
    if (!s.responded || s.data_attached) {
        pending_.push_back(half_closed{s.id});
    }
}

void connection::resume(stream_state& s) {
    if (s.deferred) {
        s.deferred = false;
        nghttp2_session_resume_data(session_, s.id);
    }
}

bool connection::start_response(stream_id stream, const metadata& headers) {
    stream_state* s = find(stream);
    if (s == nullptr || options_.side != role::server || s->finishing) {
        return false;
    }
    if (s->responded) {
        return true;
    }
    return submit_headers_response(*s, headers, false, status_code::ok, {});
}

send_result connection::send_message(stream_id stream, outgoing_message message) {
    stream_state* s = find(stream);
    if (s == nullptr || s->finishing || s->send_closed || session_dead_) {
        return send_result::closed;
    }
    if (options_.side == role::server && !s->responded) {
        if (!submit_headers_response(*s, {}, false, status_code::ok, {})) {
            return send_result::closed;
        }
    }
    if (options_.side == role::server && !s->data_attached) {
        return send_result::closed;  // answered with an HTTP error or Trailers-Only
    }
    const std::size_t size = message.size();
    const std::size_t queued = s->out.queued_bytes();
    // One message always fits an empty queue, however large.
    if (queued > 0 && queued + size > options_.max_send_queue_bytes) {
        s->blocked = true;
        return send_result::full;
    }
    if (!s->out.push(std::move(message))) {
        // Not `blocked`: nothing of this stream may be in flight to unblock it; the caller
        // tries again later.
        ++counters_.refusals[static_cast<std::size_t>(stream_refusal::memory)];
        return send_result::memory;
    }
    resume(*s);
    return send_result::queued;
}

std::size_t connection::send_room(stream_id stream) const {
    const stream_state* s = find(stream);
    // Blocked: a send was refused since the queue last drained below its bound. No room until
    // stream_writable, or a caller holding a message larger than the room left would spin.
    if (s == nullptr || s->finishing || s->send_closed || s->blocked) {
        return 0;
    }
    const std::size_t queued = s->out.queued_bytes();
    return queued >= options_.max_send_queue_bytes ? 0 : options_.max_send_queue_bytes - queued;
}

std::size_t connection::queued_bytes(stream_id stream) const {
    const stream_state* s = find(stream);
    return s == nullptr ? 0 : s->out.queued_bytes();
}

void connection::finish(stream_id stream, status_code status, std::string_view message,
                        const metadata& trailers) {
    stream_state* s = find(stream);
    if (s == nullptr || options_.side != role::server || s->finishing) {
        return;
    }
    if (!s->responded) {
        submit_headers_response(*s, trailers, true, status, message);
        return;
    }
    s->finishing = true;
    s->finish_status = status;
    s->finish_message = std::string(message);
    s->finish_trailers = trailers;
    resume(*s);
}

void connection::reset(stream_id stream, std::uint32_t h2_error) {
    if (find(stream) != nullptr && !session_dead_) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, h2_error);
    }
}

std::optional<stream_id> connection::start_call(std::string_view path, const metadata& headers,
                                                std::optional<std::chrono::nanoseconds> timeout,
                                                clock::time_point now) {
    if (options_.side != role::client || session_dead_ || draining_) {
        return std::nullopt;
    }
    now_ = now;
    std::vector<nghttp2_nv> nva;
    nva.push_back(make_nv(":method", "POST"));
    nva.push_back(make_nv(":scheme", options_.scheme));
    nva.push_back(make_nv(":path", path));
    nva.push_back(make_nv(":authority", options_.authority));
    nva.push_back(make_nv("content-type", grpc_content_type));
    nva.push_back(make_nv("te", "trailers"));
    std::string timeout_text;
    if (timeout) {
        timeout_text = format_timeout(*timeout);
        nva.push_back(make_nv("grpc-timeout", timeout_text));
    }
    for (const auto& [k, v] : headers.entries) {
        nva.push_back(make_nv(k, v));
    }
    auto state = std::make_unique<stream_state>(0, budget_, options_.max_receive_message_bytes);
    nghttp2_data_provider provider{};
    provider.source.ptr = state.get();
    provider.read_callback = &callbacks::read_data;
    const std::int32_t id =
        nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
    if (id < 0) {
        return std::nullopt;
    }
    state->id = id;
    state->data_attached = true;
    if (timeout && *timeout < clock::time_point::max() - now) {
        state->deadline = now + std::chrono::duration_cast<clock::duration>(*timeout);
    }
    streams_.emplace(id, std::move(state));
    ++counters_.streams_opened;
    return id;
}

void connection::close_send(stream_id stream) {
    stream_state* s = find(stream);
    if (s == nullptr || options_.side != role::client || s->send_closed) {
        return;
    }
    s->send_closed = true;
    resume(*s);
}

void connection::shutdown(clock::time_point now) {
    if (draining_ || session_dead_) {
        return;
    }
    draining_ = true;
    now_ = now;
    if (options_.side == role::server) {
        nghttp2_submit_shutdown_notice(session_);
        final_goaway_at_ = now + goaway_grace;
    } else {
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
        final_goaway_sent_ = true;
    }
}

void connection::on_timer(clock::time_point now, std::vector<event>& events) {
    now_ = now;
    if (session_dead_) {
        flush_pending(events);
        return;
    }
    if (final_goaway_at_ && now >= *final_goaway_at_) {
        final_goaway_at_.reset();
        final_goaway_sent_ = true;
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                              nullptr, 0);
    }
    // Deadlines.
    std::vector<stream_id> expired;
    for (const auto& [id, s] : streams_) {
        if (s->deadline && now >= *s->deadline && !s->finishing && !s->finished_reported) {
            expired.push_back(id);
        }
    }
    for (stream_id id : expired) {
        stream_state& s = *streams_.at(id);
        if (options_.side == role::server) {
            // What never left is given back; what is in the output still goes out before the
            // status.
            std::vector<outgoing_message> undelivered = s.out.take_unstarted();
            if (!undelivered.empty()) {
                pending_.push_back(messages_undelivered{id, std::move(undelivered)});
            }
            if (!s.responded) {
                submit_headers_response(s, {}, true, status_code::deadline_exceeded,
                                        "deadline exceeded");
            } else {
                finish(id, status_code::deadline_exceeded, "deadline exceeded");
            }
        } else {
            s.finished_reported = true;
            pending_.push_back(
                call_finished{id, status_code::deadline_exceeded, "deadline exceeded", {}});
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        }
    }
    // Keepalive.
    const bool keepalive =
        options_.keepalive_time.count() > 0 &&
        (options_.side == role::server || !streams_.empty() || options_.keepalive_without_calls);
    if (keepalive) {
        if (ping_sent_at_) {
            if (now - *ping_sent_at_ >= options_.keepalive_timeout) {
                failure_ = connection_failure::keepalive_timeout;
                session_dead_ = true;
            }
        } else if (now - last_received_ >= options_.keepalive_time) {
            std::array<std::uint8_t, 8> opaque{};
            ++ping_counter_;
            std::memcpy(opaque.data(), &ping_counter_, sizeof ping_counter_);
            nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, opaque.data());
            ping_sent_at_ = now;
        }
    }
    flush_pending(events);
}

clock::time_point connection::next_timer() const {
    clock::time_point next = clock::time_point::max();
    if (session_dead_) {
        return next;
    }
    if (final_goaway_at_) {
        next = std::min(next, *final_goaway_at_);
    }
    for (const auto& [id, s] : streams_) {
        if (s->deadline && !s->finishing && !s->finished_reported) {
            next = std::min(next, *s->deadline);
        }
    }
    if (options_.keepalive_time.count() > 0) {
        if (ping_sent_at_) {
            next = std::min(next, *ping_sent_at_ + options_.keepalive_timeout);
        } else {
            next = std::min(next, last_received_ + options_.keepalive_time);
        }
    }
    return next;
}

}  // namespace mgw::grpc
