// HTTP server module (internal): the bytes of one connection turned into requests. Beast's
// parser under the server's limits, the framing checks of request_framing.hpp on every head,
// empty lines before a request line skipped (RFC 9112 §2.2), and every byte it holds bounded:
// a head by header_limit, a body by the route's limit, a chunk line or the trailer by
// header_limit again. No I/O: the connection reads into prepare() and calls parse(), so a test
// (or a fuzzer) can feed it one byte at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "request_framing.hpp"

namespace mgw::http {

using request_message = boost::beast::http::request<boost::beast::http::string_body>;
using request_head = boost::beast::http::request_header<>;

// Why a request is refused before a handler sees it; the connection answers and closes.
enum class request_refusal : std::uint8_t {
    bad_request,            // 400: malformed or ambiguous (see check_request_framing)
    header_too_large,       // 431: the head passed header_limit
    body_too_large,         // 413: the body passed its limit
    not_implemented,        // 501: a transfer coding other than chunked
    version_not_supported,  // 505
};

class request_reader {
  public:
    struct limits {
        std::size_t header_limit = std::size_t{16} << 10;
        std::size_t read_size = std::size_t{64} << 10;  // most bytes one read may bring
    };

    enum class status {
        need_more,  // read more bytes into prepare()
        head,       // a head was parsed and passed the framing checks: see head(), then call
                    // read_body() with the route's limit, or refuse()
        complete,   // a request is complete: take() it
        refused,    // see refusal(); the reader parses nothing more
    };

    explicit request_reader(limits values);

    // Where the socket's next bytes go (empty when the buffer is at its bound, which parse()
    // never lets happen while it waits for bytes), and how many arrived.
    boost::asio::mutable_buffer prepare();
    void commit(std::size_t bytes);

    // Parses what is buffered, as far as the next status.
    status parse();

    // From `head` until take():
    const request_head& head() const { return parser_->get().base(); }
    std::size_t head_bytes() const { return head_bytes_; }
    std::optional<std::uint64_t> content_length() const {
        const auto length = parser_->content_length();
        return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
    }
    bool has_body() const { return !parser_->is_done(); }
    void read_body(std::size_t limit);
    // The connection's own refusals of the request in progress (its body over the route's
    // limit, the memory ceiling).
    void refuse(request_refusal reason);

    // After `complete`: the request, without the trailer fields of a chunked body. The reader
    // then waits for the next one.
    request_message take();

    request_refusal refusal() const { return refusal_; }
    // Some byte of a request (not only empty lines) arrived and the request is not complete.
    bool mid_request() const { return state_ == state::head || state_ == state::body; }
    bool reading_body() const { return state_ == state::body; }
    // Bytes this reader holds: its buffer's capacity and the request in progress.
    std::size_t held_bytes() const;
    // Gives back the buffer's memory when nothing is buffered (between requests). Never while
    // a read into prepare()'s buffer is pending.
    void release_idle_buffer();

  private:
    enum class state { idle, head, awaiting_body, body, complete, refused };

    status refuse_now(request_refusal reason);
    bool names_other_major_version() const;

    limits limits_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    state state_ = state::idle;
    request_refusal refusal_ = request_refusal::bad_request;
    raw_head_scanner scanner_;
    std::size_t head_bytes_ = 0;
    std::size_t head_searched_ = 0;             // where the search for the head's end goes on
    std::optional<request_head> chunked_head_;  // the checked head of a chunked request
    std::size_t empty_line_bytes_ = 0;
};

}  // namespace mgw::http
