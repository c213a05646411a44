// Names of scrape error classes (metric label values: keep them stable).
#include <mgw/scrape/result.hpp>

namespace mgw::scrape {

std::string_view to_string(scrape_error error) {
    switch (error) {
        case scrape_error::ok:
            return "ok";
        case scrape_error::connect_refused:
            return "connect_refused";
        case scrape_error::connect_timeout:
            return "connect_timeout";
        case scrape_error::timeout:
            return "timeout";
        case scrape_error::tls_error:
            return "tls_error";
        case scrape_error::http_status:
            return "http_status";
        case scrape_error::body_too_large:
            return "body_too_large";
        case scrape_error::bad_gzip:
            return "bad_gzip";
        case scrape_error::redirect_refused:
            return "redirect_refused";
        case scrape_error::protocol_error:
            return "protocol_error";
        case scrape_error::memory:
            return "memory";
        case scrape_error::cancelled:
            return "cancelled";
    }
    return "unknown";
}

}  // namespace mgw::scrape
