// Scrape module: what to fetch (one app instance's metrics endpoint) and how (deadline,
// forwarded headers, Accept, size limit) for one fan-out.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mgw::core {
class memory_budget;
}

namespace mgw::scrape {

// One app instance endpoint. `server_name` is the route's server_cert_domain_san: the SNI sent
// and the name the certificate must carry (route integrity); empty means "use host".
struct scrape_target {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;
    std::string server_name;
    std::string path = "/metrics";  // path and optional query, as sent on the request line
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// 32 MiB: ~100x the largest exposition in the Prometheus fixtures, and small enough that a few
// hundred concurrent scrapes cannot exhaust memory.
inline constexpr std::size_t default_max_body_bytes = 32u << 20;

struct scrape_request_options {
    std::chrono::steady_clock::time_point deadline;
    header_list headers;  // already filtered (see select_forward_headers)
    std::string accept;   // exposition::promfetcher_v1_accept or promfetcher_v2_accept
    std::size_t max_body_bytes = default_max_body_bytes;  // decoded body, per instance
    bool accept_gzip = true;
    // Where bodies lease their bytes (scrape_bodies) before they are filled; a refusal ends
    // that instance's fetch as scrape_error::memory. Null: no ceiling.
    core::memory_budget* memory = nullptr;
};

struct scrape_result;

// Called once per target as soon as its fetch ends (success or not), on that target's strand,
// with the target's index; calls for different targets may run in parallel. The caller can
// take the body and parse it there, while the other instances are still being fetched.
// scrape_all() completes only after every call has returned.
using scrape_completion = std::function<void(std::size_t index, scrape_result& result)>;

}  // namespace mgw::scrape
