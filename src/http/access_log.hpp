// HTTP server module (internal): the access log, one line per answered request. What a client
// sent (method, target) is logged escaped and shortened, so that no request can forge a log
// line, break a log parser or fill the disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <mgw/core/log.hpp>

namespace mgw::http {

struct access_entry {
    std::string_view method;
    std::string_view uri;
    unsigned status;
    std::uint64_t bytes;  // body bytes sent, after compression
    double duration_ms;
    std::string_view remote;
};

// Longest method and target kept in the log; longer ones end in "...".
inline constexpr std::size_t access_log_method_bytes = 32;
inline constexpr std::size_t access_log_uri_bytes = 2048;

// `text` with every byte outside printable ASCII (space, controls, DEL, non-ASCII)
// percent-encoded, cut at `max_bytes` (then ending in "...").
std::string escape_for_log(std::string_view text, std::size_t max_bytes);

void log_access(core::logger& log, const access_entry& entry);

}  // namespace mgw::http
