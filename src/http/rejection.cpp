// Names of the server's refusals: the `reason` label values of mgw_http_rejected_total.
#include "rejection.hpp"

namespace mgw::http {

std::string_view to_string(rejection reason) {
    switch (reason) {
        case rejection::bad_request:
            return "bad_request";
        case rejection::header_too_large:
            return "header_too_large";
        case rejection::body_too_large:
            return "body_too_large";
        case rejection::not_implemented:
            return "not_implemented";
        case rejection::version_not_supported:
            return "version_not_supported";
        case rejection::memory:
            return "memory";
        case rejection::request_timeout:
            return "request_timeout";
        case rejection::write_timeout:
            return "write_timeout";
        case rejection::too_many_connections:
            return "too_many_connections";
    }
    return "bad_request";
}

}  // namespace mgw::http
