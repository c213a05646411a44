// HTTP server module (internal): why the server itself refused a request or cut a connection,
// before or instead of a handler's answer. A fixed set: it is the `reason` label of
// mgw_http_rejected_total, so no client can add series through it.
#pragma once

#include <cstdint>
#include <string_view>

namespace mgw::http {

enum class rejection : std::uint8_t {
    bad_request,            // 400: malformed request line, header, target or framing
    header_too_large,       // 431
    body_too_large,         // 413
    not_implemented,        // 501: a transfer coding the server does not implement
    version_not_supported,  // 505: not HTTP/1.x
    memory,                 // 503: the memory ceiling (limits.memory) refused the request's bytes
    request_timeout,        // request not complete (or not answered) before its deadline
    write_timeout,          // the client did not take a response's bytes within write_timeout
    too_many_connections,   // beyond max_connections
};

std::string_view to_string(rejection reason);

}  // namespace mgw::http
