// HTTP server module: Basic authentication (RFC 7617) for the operator and platform endpoints
// (/routes, the service broker), checked in constant time.
#pragma once

#include <string>
#include <string_view>

namespace mgw::http {

// An empty username disables the endpoint: nothing matches it.
struct basic_credentials {
    std::string username;
    std::string password;
};

// True when `authorization` is `Basic base64(username:password)` for these credentials (the
// scheme case-insensitively). The comparison takes the same time wherever the first difference
// is, so the password cannot be guessed byte by byte from response times.
bool basic_auth_matches(std::string_view authorization, const basic_credentials& credentials);

}  // namespace mgw::http
