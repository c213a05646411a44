// Header policy for requests to instances: forwarding, hop-by-hop filtering, deadlines.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include <mgw/scrape/request_headers.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::scrape {

namespace {

using text::iequals;
using text::trim_whitespace;

// Headers the scraper writes itself; a forwarded copy would duplicate or contradict them.
constexpr std::array<std::string_view, 6> owned_headers = {
    "host",           "accept",     "accept-encoding",
    "content-length", "user-agent", "x-prometheus-scrape-timeout-seconds"};

bool listed_in_connection(const header_list& client_headers, std::string_view name) {
    for (const auto& [key, value] : client_headers) {
        if (!iequals(key, "connection")) {
            continue;
        }
        std::string_view rest = value;
        while (!rest.empty()) {
            const std::size_t comma = rest.find(',');
            if (iequals(trim_whitespace(rest.substr(0, comma)), name)) {
                return true;
            }
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
    }
    return false;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
    constexpr std::array<std::string_view, 9> hop_by_hop = {"connection",
                                                            "keep-alive",
                                                            "proxy-authenticate",
                                                            "proxy-authorization",
                                                            "proxy-connection",
                                                            "te",
                                                            "trailer",
                                                            "transfer-encoding",
                                                            "upgrade"};
    return std::any_of(hop_by_hop.begin(), hop_by_hop.end(),
                       [&](std::string_view h) { return iequals(h, name); });
}

header_list select_forward_headers(const header_list& client_headers,
                                   std::span<const std::string> forward_names) {
    header_list selected;
    for (const auto& [name, value] : client_headers) {
        const bool wanted = std::any_of(forward_names.begin(), forward_names.end(),
                                        [&](const std::string& f) { return iequals(f, name); });
        if (!wanted || is_hop_by_hop(name) || listed_in_connection(client_headers, name)) {
            continue;
        }
        if (std::any_of(owned_headers.begin(), owned_headers.end(),
                        [&](std::string_view o) { return iequals(o, name); })) {
            continue;
        }
        selected.emplace_back(name, value);
    }
    return selected;
}

std::chrono::steady_clock::duration scrape_timeout(
    std::chrono::steady_clock::duration configured,
    std::optional<std::string_view> client_timeout_header) {
    using std::chrono::duration_cast;
    std::chrono::steady_clock::duration timeout = configured;
    if (client_timeout_header) {
        const std::string_view text = trim_whitespace(*client_timeout_header);
        double seconds = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
        if (ec == std::errc{} && end == text.data() + text.size() && std::isfinite(seconds) &&
            seconds > 0 && seconds < 1e7) {
            const auto client = duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(seconds) - scrape_timeout_margin);
            timeout = std::min(timeout, client);
        }
    }
    return std::max<std::chrono::steady_clock::duration>(timeout, min_scrape_timeout);
}

std::string format_timeout_header(std::chrono::steady_clock::duration remaining) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count();
    const long long clamped = std::max<long long>(ms, 0);
    return fmt::format("{}.{:03}", clamped / 1000, clamped % 1000);
}

}  // namespace mgw::scrape
