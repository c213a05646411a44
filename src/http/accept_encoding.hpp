// HTTP server module: content-coding negotiation (RFC 9110 §12.5.3). Pure, no I/O.
#pragma once

#include <string_view>

namespace mgw::http {

// True when an Accept-Encoding field value allows gzip: "gzip" or "x-gzip" with a non-zero
// q-value, or "*" with a non-zero q-value and gzip not refused explicitly.
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace mgw::http
