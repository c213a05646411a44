// Scrape module: the outcome of fetching one instance, with an error class small enough to be
// a metric label (Promfetcher put raw error strings in its `error` label; see its bug 11).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <mgw/core/memory_budget.hpp>

namespace mgw::scrape {

enum class scrape_error {
    ok,
    connect_refused,   // TCP RST, unreachable host or network
    connect_timeout,   // the deadline passed while resolving or connecting
    timeout,           // the deadline passed while waiting for a slot, in TLS or HTTP
    tls_error,         // handshake failed: certificate, hostname/SAN, protocol
    http_status,       // a status other than 200 (see `status`)
    body_too_large,    // the decoded body exceeded max_body_bytes
    bad_gzip,          // Content-Encoding gzip but the bytes are not valid gzip
    redirect_refused,  // redirect to another host or port, or more than the allowed hops
    protocol_error,    // not HTTP/1.x, bad framing, connection closed mid-response
    memory,            // the memory ceiling (limits.memory) refused the body's bytes
    cancelled,         // the caller cancelled the fan-out (its client went away)
};

// Stable lower-case name, used as the `result` label and in logs.
std::string_view to_string(scrape_error error);

struct scrape_result {
    scrape_error error = scrape_error::cancelled;
    unsigned status = 0;       // HTTP status of the last response, 0 if none arrived
    std::string reason;        // low-cardinality detail, e.g. "status_503", "certificate"
    std::string body;          // decoded (gunzipped) body, only when error == ok
    core::memory_lease lease;  // the body's bytes (its capacity), held as long as the body is
    std::string content_type;  // of the last response
    std::chrono::steady_clock::duration duration{};
    std::size_t wire_bytes = 0;  // body bytes as received (compressed when gzip)
    bool reused_connection = false;

    bool ok() const { return error == scrape_error::ok; }
};

}  // namespace mgw::scrape
