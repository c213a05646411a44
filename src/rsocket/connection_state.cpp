// The server side of one RSocket connection, without I/O. Behaves like rsocket-java 1.1's
// server where clients can tell (SETUP checks, keepalive echo, unimplemented interactions).
#include <algorithm>

#include <mgw/rsocket/connection_state.hpp>

namespace mgw::rsocket {

connection_state::connection_state(connection_limits limits, clock::time_point now)
    : limits_(limits), reassembler_(limits.max_reassembly_bytes), last_received_(now) {}

void connection_state::append(const frame& f, std::string& out) const {
    encode_frame(f, out, limits_.length_prefixed);
}

connection_state::event connection_state::close_with(std::uint32_t code, std::string_view message,
                                                     std::string_view counter,
                                                     std::vector<std::string>& outbound) {
    closed_ = true;
    message_.assign(message);
    std::string bytes;
    error(0, code, message_, bytes);
    outbound.push_back(std::move(bytes));
    return {.kind = event_kind::close,
            .stream_id = 0,
            .metadata = {},
            .data = {},
            .has_metadata = false,
            .needs_ack = false,
            .error = code,
            .message = message_,
            .counter = counter};
}

bool connection_state::silent_too_long(clock::time_point now) const {
    return setup_done_ && now - last_received_ >= max_lifetime_;
}

connection_state::event connection_state::on_frame(std::string_view bytes, clock::time_point now,
                                                   std::vector<std::string>& outbound) {
    if (closed_) {
        return {};
    }
    last_received_ = now;
    frame decoded;
    if (const decode_result result = decode_frame(bytes, decoded); !result) {
        if (result.error() == errc::unknown_type && decoded.has(flag::ignore) && setup_done_) {
            return {};  // the I flag allows skipping frames we do not understand, but not SETUP
        }
        message_ = "invalid frame: ";
        message_ += result.error().message();
        const std::string text = message_;
        return close_with(setup_done_ ? errors::connection_error : errors::invalid_setup, text,
                          "invalid_frame", outbound);
    }
    if (!setup_done_) {
        if (decoded.type == frame_type::resume) {
            return close_with(errors::rejected_resume, "resume not supported", "resume", outbound);
        }
        if (decoded.type != frame_type::setup) {
            return close_with(errors::invalid_setup, "first frame must be SETUP", "no_setup",
                              outbound);
        }
        return handle_setup(decoded, outbound);
    }
    frame whole;
    switch (reassembler_.feed(decoded, whole)) {
        case reassembler::status::pending:
            return {};
        case reassembler::status::too_large:
            return close_with(errors::connection_error, "fragmented message too large",
                              "reassembly_too_large", outbound);
        case reassembler::status::complete:
            break;
    }
    return handle(whole, outbound);
}

connection_state::event connection_state::handle_setup(const frame& f,
                                                       std::vector<std::string>& outbound) {
    const setup_fields& s = f.setup;
    if (s.major_version != 1 || s.minor_version != 0) {
        return close_with(errors::invalid_setup,
                          "Unsupported version: " + std::to_string(s.major_version) + "." +
                              std::to_string(s.minor_version),
                          "setup_version", outbound);
    }
    if (f.has(flag::lease)) {
        return close_with(errors::invalid_setup, "lease is not supported", "setup_lease", outbound);
    }
    if (f.has(flag::resume_enable)) {
        return close_with(errors::unsupported_setup, "resume not supported", "setup_resume",
                          outbound);
    }
    if (s.keepalive_ms == 0 || s.max_lifetime_ms == 0) {
        return close_with(errors::invalid_setup, "keepalive and max lifetime must be > 0",
                          "setup_keepalive", outbound);
    }
    setup_done_ = true;
    keepalive_interval_ =
        std::max(std::chrono::milliseconds(s.keepalive_ms), limits_.min_keepalive_interval);
    max_lifetime_ = std::chrono::milliseconds(s.max_lifetime_ms);
    return {.kind = event_kind::setup,
            .stream_id = 0,
            .metadata = f.metadata,
            .data = f.data,
            .has_metadata = f.has(flag::metadata),
            .needs_ack = false,
            .error = 0,
            .message = {},
            .counter = {}};
}

connection_state::event connection_state::handle(const frame& f,
                                                 std::vector<std::string>& outbound) {
    event e;
    e.stream_id = f.stream_id;
    switch (f.type) {
        case frame_type::setup:
            return close_with(errors::connection_error, "SETUP after setup", "second_setup",
                              outbound);
        case frame_type::resume:
            return close_with(errors::rejected_resume, "resume not supported", "resume", outbound);
        case frame_type::keepalive:
            if (f.has(flag::respond)) {
                frame echo;
                echo.type = frame_type::keepalive;
                echo.data = f.data;
                std::string bytes;
                append(echo, bytes);
                outbound.push_back(std::move(bytes));
            }
            return e;
        case frame_type::payload:
            if (pending_.erase(f.stream_id) == 0) {
                return e;  // a reply to a request we gave up on, or a stray payload
            }
            e.kind = event_kind::response;
            e.metadata = f.metadata;
            e.data = f.data;
            e.has_metadata = f.has(flag::metadata);
            return e;
        case frame_type::error:
            if (f.stream_id == 0) {
                closed_ = true;
                e.kind = event_kind::close;
                e.error = f.error;
                e.message = f.data;
                return e;
            }
            if (pending_.erase(f.stream_id) == 0) {
                return e;
            }
            e.kind = event_kind::stream_error;
            e.error = f.error;
            e.message = f.data;
            return e;
        case frame_type::request_fnf:
        case frame_type::request_response:
            if (f.stream_id % 2 == 0) {
                return close_with(errors::connection_error, "client requests use odd streams",
                                  "even_stream", outbound);
            }
            e.kind = event_kind::push;
            e.metadata = f.metadata;
            e.data = f.data;
            e.has_metadata = f.has(flag::metadata);
            e.needs_ack = f.type == frame_type::request_response;
            return e;
        case frame_type::request_stream:
        case frame_type::request_channel: {
            std::string bytes;
            // The proxy only pulls (REQUEST_RESPONSE) and takes pushes (FNF / REQUEST_RESPONSE);
            // a stream or channel from a client is refused on its stream, the connection stays.
            error(f.stream_id, errors::application_error,
                  f.type == frame_type::request_stream
                      ? "REQUEST_STREAM is not supported by this proxy"
                      : "REQUEST_CHANNEL is not supported by this proxy",
                  bytes);
            outbound.push_back(std::move(bytes));
            return e;
        }
        case frame_type::lease:
        case frame_type::request_n:
        case frame_type::cancel:
        case frame_type::metadata_push:
        case frame_type::resume_ok:
        case frame_type::ext:
            return e;  // nothing of ours can be leased, cancelled or pushed metadata to
    }
    return e;
}

std::uint32_t connection_state::start_request(frame_type type, std::string_view data,
                                              std::string& out) {
    const bool tracked = type == frame_type::request_response;
    if (tracked && pending_.size() >= limits_.max_pending_requests) {
        return 0;
    }
    std::uint32_t id = next_stream_id_;
    while (pending_.contains(id)) {
        id += 2;
    }
    next_stream_id_ = id + 2 > 0x7FFFFFFEU ? 2 : id + 2;
    frame request;
    request.stream_id = id;
    request.type = type;
    request.data = data;
    append(request, out);
    if (tracked) {
        pending_.insert(id);
    }
    return id;
}

void connection_state::end_request(std::uint32_t stream_id, bool cancel, std::string& out) {
    if (pending_.erase(stream_id) != 0 && cancel) {
        frame f;
        f.stream_id = stream_id;
        f.type = frame_type::cancel;
        append(f, out);
    }
}

void connection_state::keepalive(std::string& out) const {
    frame f;
    f.type = frame_type::keepalive;
    f.flags = flag::respond;
    append(f, out);
}

void connection_state::push_ack(std::uint32_t stream_id, std::string& out) const {
    frame f;
    f.stream_id = stream_id;
    f.type = frame_type::payload;
    f.flags = flag::next | flag::complete;
    append(f, out);
}

void connection_state::error(std::uint32_t stream_id, std::uint32_t code, std::string_view message,
                             std::string& out) const {
    frame f;
    f.stream_id = stream_id;
    f.type = frame_type::error;
    f.error = code;
    f.data = message;
    append(f, out);
}

}  // namespace mgw::rsocket
