// HTTP server module (internal): the access log, one line per answered request.
#pragma once

#include <cstdint>
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

void log_access(core::logger& log, const access_entry& entry);

}  // namespace mgw::http
