// HTTP server module: splitting a request target (origin-form, RFC 9112 §3.2.1) into its
// percent-decoded path and query parameters. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/result.hpp>

namespace mgw::http {

struct request_target {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
};

// The decoded target, or Boost.URL's error_code (its grammar categories: the http module has
// nothing to add to it) when `target` is not a valid origin-form target; the request then gets
// a 400. '+' in the query means a space, as HTML forms and Go's url.ParseQuery have it.
boost::system::result<request_target> parse_request_target(std::string_view target);

}  // namespace mgw::http
