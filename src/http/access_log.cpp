// Access log lines go through the structured logger so they share its format and level.
#include "access_log.hpp"

namespace mgw::http {

std::string escape_for_log(std::string_view text, std::size_t max_bytes) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(std::min(text.size(), max_bytes) + 3);
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool printable = byte > 0x20 && byte < 0x7f;
        const std::size_t needed = printable ? 1 : 3;
        if (out.size() + needed > max_bytes) {
            out += "...";
            return out;
        }
        if (printable) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0x0f]);
        }
    }
    return out;
}

void log_access(core::logger& log, const access_entry& entry) {
    if (!log.enabled(core::log_level::info)) {
        return;
    }
    const std::string method = escape_for_log(entry.method, access_log_method_bytes);
    const std::string uri = escape_for_log(entry.uri, access_log_uri_bytes);
    log.info("http request", {{"method", method},
                              {"uri", uri},
                              {"status", entry.status},
                              {"bytes", entry.bytes},
                              {"duration_ms", entry.duration_ms},
                              {"remote", entry.remote}});
}

}  // namespace mgw::http
