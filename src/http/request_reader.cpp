// Request parsing as a pure step: Beast's parser fed from one flat buffer, the framing checks
// on each head, the bounds that Beast leaves to its caller (chunk lines, trailers).
#include "request_reader.hpp"

#include <algorithm>
#include <string_view>

#include <boost/beast/http/error.hpp>

namespace mgw::http {

namespace beast_http = boost::beast::http;

namespace {

struct head_scan {
    std::size_t end = 0;  // one past the head's empty line; 0 while it has not come
    bool bare_line_ending = false;
};

// Looks for the end of a head (CRLF CRLF) in `bytes`, going on from `scanned` (where the last
// look stopped, updated): a head sent a byte at a time is scanned once, not once per byte.
// A CR not followed by LF, or an LF without its CR, ends the look: such a head is refused as
// soon as the byte after the fault is there, however the bytes arrived.
head_scan scan_head(std::string_view bytes, std::size_t& scanned) {
    for (std::size_t i = scanned; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c == '\n') {
            if (i == 0 || bytes[i - 1] != '\r') {
                return {.bare_line_ending = true};
            }
            if (i >= 3 && bytes[i - 2] == '\n' && bytes[i - 3] == '\r') {
                return {.end = i + 1};
            }
        } else if (i > 0 && bytes[i - 1] == '\r') {
            return {.bare_line_ending = true};
        }
    }
    scanned = bytes.size();
    return {};
}

}  // namespace

namespace {

// Below this a read is not worth a system call; buffers smaller than this are never shrunk.
constexpr std::size_t min_read_bytes = 4096;
// CRLF pairs allowed before a request line: a client that ended a body with one extra CRLF
// is served, an endless stream of them is not.
constexpr std::size_t max_empty_line_bytes = 64;

}  // namespace

request_reader::request_reader(limits values)
    : limits_(values),
      // The bound of the buffer: a whole head, plus one read of whatever follows it.
      buffer_(values.header_limit + values.read_size + min_read_bytes) {}

boost::asio::mutable_buffer request_reader::prepare() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    const std::size_t spare = buffer_.capacity() - buffer_.size();
    // A body comes in large reads; a head in what the buffer already has room for.
    const std::size_t wanted =
        state_ == state::body
            ? limits_.read_size
            : std::clamp(spare, std::min(min_read_bytes, limits_.read_size), limits_.read_size);
    return buffer_.prepare(std::min(wanted, room));
}

void request_reader::commit(std::size_t bytes) {
    buffer_.commit(bytes);
}

// Beast accepts only HTTP/1.x: a well-formed request line of another major version is told so
// (505) rather than called malformed.
bool request_reader::names_other_major_version() const {
    // method SP request-target SP HTTP-version: what follows the second space.
    const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const std::size_t first = data.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : data.find(' ', first + 1);
    if (second == std::string_view::npos) {
        return false;
    }
    const std::string_view version = data.substr(second + 1);
    if (version.size() < 6 || !version.starts_with("HTTP/")) {
        return false;
    }
    const char major = version[5];
    return major >= '0' && major <= '9' && major != '1';
}

request_reader::status request_reader::refuse_now(request_refusal reason) {
    refuse(reason);
    return status::refused;
}

void request_reader::refuse(request_refusal reason) {
    state_ = state::refused;
    refusal_ = reason;
}

request_reader::status request_reader::parse() {
    boost::beast::error_code ec;
    switch (state_) {
        case state::refused:
            return status::refused;
        case state::complete:
            return status::complete;
        case state::awaiting_body:
            return status::head;
        case state::idle: {
            // RFC 9112 §2.2: empty lines before a request line are ignored.
            for (;;) {
                const auto* data = static_cast<const char*>(buffer_.data().data());
                const std::size_t size = buffer_.size();
                if (size == 0 || data[0] != '\r') {
                    break;
                }
                if (size < 2) {
                    return status::need_more;
                }
                if (data[1] != '\n') {
                    break;  // a bare CR: Beast refuses it below
                }
                buffer_.consume(2);
                empty_line_bytes_ += 2;
                if (empty_line_bytes_ > max_empty_line_bytes) {
                    return refuse_now(request_refusal::bad_request);
                }
            }
            if (buffer_.size() == 0) {
                return status::need_more;
            }
            parser_.emplace();
            // The route decides the body's limit once the head is known (read_body); until
            // then no limit, or a Content-Length above the server's default would be refused
            // before a route that allows more is found.
            parser_->body_limit(boost::none);
            parser_->eager(false);
            scanner_.reset();
            head_bytes_ = 0;
            head_searched_ = 0;
            state_ = state::head;
            [[fallthrough]];
        }
        case state::head: {
            // Beast applies its limit to what it has not consumed yet: what it took already
            // counts against the head's limit too.
            if (head_bytes_ >= limits_.header_limit) {
                return refuse_now(request_refusal::header_too_large);
            }
            // Beast is shown a head only once it is whole (up to its empty line) and within
            // the limit. Given a partial head, Beast parses it on the first call but only
            // searches for its end on later ones, so what it reports (a fault in the head, or
            // the limit) would depend on how the bytes arrived; whole heads make the answer a
            // function of the bytes alone.
            const std::size_t room = limits_.header_limit - head_bytes_;
            const auto buffered = buffer_.data();
            const std::string_view within(static_cast<const char*>(buffered.data()),
                                          std::min(buffered.size(), room));
            const head_scan scan = scan_head(within, head_searched_);
            if (scan.bare_line_ending) {
                return refuse_now(request_refusal::bad_request);
            }
            if (scan.end == 0) {
                if (within.size() >= room) {
                    return refuse_now(request_refusal::header_too_large);
                }
                return status::need_more;
            }
            parser_->header_limit(static_cast<std::uint32_t>(room));
            const std::size_t used =
                parser_->put(boost::asio::const_buffer(within.data(), scan.end), ec);
            scanner_.scan(within.substr(0, used));
            head_bytes_ += used;
            if (ec == beast_http::error::need_more) {
                // Not from a whole head: Beast wants what it was not shown.
                return refuse_now(request_refusal::bad_request);
            }
            if (ec == beast_http::error::header_limit) {
                return refuse_now(request_refusal::header_too_large);
            }
            if (ec == beast_http::error::bad_version && names_other_major_version()) {
                return refuse_now(request_refusal::version_not_supported);
            }
            if (ec) {
                return refuse_now(request_refusal::bad_request);
            }
            buffer_.consume(used);
            // Beast lets the fields take header_limit bytes after the request line: the limit
            // is the whole head's.
            if (head_bytes_ > limits_.header_limit) {
                return refuse_now(request_refusal::header_too_large);
            }
            if (!scanner_.acceptable()) {
                return refuse_now(request_refusal::bad_request);
            }
            switch (check_request_framing(parser_->get().base())) {
                case framing_verdict::ok:
                    break;
                case framing_verdict::bad_request:
                    return refuse_now(request_refusal::bad_request);
                case framing_verdict::not_implemented:
                    return refuse_now(request_refusal::not_implemented);
                case framing_verdict::version_not_supported:
                    return refuse_now(request_refusal::version_not_supported);
            }
            empty_line_bytes_ = 0;
            state_ = state::awaiting_body;
            return status::head;
        }
        case state::body:
            break;
    }
    while (!parser_->is_done()) {
        if (buffer_.size() == 0) {
            return status::need_more;
        }
        // Beast buffers a chunk line or a trailer without end: it is offered at most
        // header_limit bytes at a time, so a longer one can never be parsed, whatever the
        // reads brought.
        const auto data = buffer_.data();
        const std::size_t offered =
            parser_->chunked() ? std::min(data.size(), limits_.header_limit) : data.size();
        const std::size_t used = parser_->put(boost::asio::buffer(data.data(), offered), ec);
        buffer_.consume(used);
        if (ec == beast_http::error::need_more || (!ec && used == 0)) {
            if (used == 0 && offered == limits_.header_limit) {
                return refuse_now(request_refusal::bad_request);
            }
            if (used > 0) {
                continue;
            }
            return status::need_more;
        }
        if (ec == beast_http::error::body_limit) {
            return refuse_now(request_refusal::body_too_large);
        }
        if (ec) {
            return refuse_now(request_refusal::bad_request);
        }
    }
    state_ = state::complete;
    return status::complete;
}

void request_reader::read_body(std::size_t limit) {
    // Beast checks a declared length against its limit only while parsing the head, when the
    // route (and so the limit) was not known yet.
    if (const auto length = parser_->content_length(); length && *length > limit) {
        refuse(request_refusal::body_too_large);
        return;
    }
    parser_->body_limit(limit);
    parser_->eager(true);
    if (parser_->chunked()) {
        chunked_head_ = parser_->get().base();
    }
    state_ = parser_->is_done() ? state::complete : state::body;
}

request_message request_reader::take() {
    request_message message = parser_->release();
    // Beast merges a chunked body's trailer fields into the head's. A trailer may not stand in
    // for a header field (RFC 9110 §6.5.1): a `Host`, `Content-Length` or `Authorization`
    // there would reach handlers without having passed the checks of the head, or a front
    // end's inspection. They are dropped (no route uses trailers): the head is put back as it
    // was checked.
    if (chunked_head_) {
        message.base() = std::move(*chunked_head_);
        chunked_head_.reset();
    }
    parser_.reset();
    head_bytes_ = 0;
    state_ = state::idle;
    return message;
}

std::size_t request_reader::held_bytes() const {
    std::size_t held = buffer_.capacity();
    if (parser_) {
        held += head_bytes_ + parser_->get().body().capacity();
    }
    if (chunked_head_) {
        held += head_bytes_;
    }
    return held;
}

void request_reader::release_idle_buffer() {
    if (buffer_.size() == 0 && buffer_.capacity() > min_read_bytes) {
        buffer_.shrink_to_fit();
    }
}

}  // namespace mgw::http
