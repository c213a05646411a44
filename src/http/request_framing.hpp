// HTTP server module (internal): the request-framing rules of RFC 9112 that Beast's parser
// leaves to its caller. A request whose length or target two parsers could read differently (a
// front end and this server) is refused before any of its bytes can be taken for another
// request: that is how request smuggling is closed. Pure, no I/O.
#pragma once

#include <string_view>

#include <boost/beast/http/message.hpp>

namespace mgw::http {

enum class framing_verdict {
    ok,
    bad_request,            // 400, then close
    not_implemented,        // 501, then close: a transfer coding other than chunked
    version_not_supported,  // 505, then close: not HTTP/1.x
};

// Watches the bytes of a request head as Beast consumes them (in as many pieces as it takes)
// for what Beast accepts silently: obs-fold or a field line starting with whitespace (RFC 9112
// §5.2, §2.2: a front end may read such a line as a field of its own), and control characters
// that no field line may carry (RFC 9110 §5.5).
class raw_head_scanner {
  public:
    void scan(std::string_view bytes);
    bool acceptable() const { return acceptable_; }
    void reset() { *this = raw_head_scanner{}; }

  private:
    bool after_line_feed_ = false;
    bool acceptable_ = true;
};

// `header` is Beast's parse of a request head whose bytes passed raw_head_scanner. Refused (RFC
// 9112 sections in brackets):
// - a Transfer-Encoding whose final coding is not `chunked`, `chunked` applied twice, an empty
//   one, or any in HTTP/1.0 (§6.1: 400); another coding before the final chunked (501);
// - Content-Length together with Transfer-Encoding, more than one Content-Length line, or a
//   value other than digits (§6.3: 400);
// - no Host in HTTP/1.1, more than one Host, or a Host that is not uri-host[:port] (§3.2);
// - more than one Authorization (a front end and the gateway could each honour another);
// - a major version other than 1 (505).
framing_verdict check_request_framing(const boost::beast::http::request_header<>& header);

// uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3); empty is valid (RFC 9112 §3.2).
bool valid_host_field(std::string_view value);

}  // namespace mgw::http
