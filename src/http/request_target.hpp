// HTTP server module: splitting a request target (origin-form, RFC 9112 §3.2.1) into its
// percent-decoded path and query parameters. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mgw::http {

struct request_target {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
};

// False when `target` is not a valid origin-form target (the request then gets a 400).
// '+' in the query means a space, as HTML forms and Go's url.ParseQuery have it.
bool parse_request_target(std::string_view target, request_target& out);

}  // namespace mgw::http
