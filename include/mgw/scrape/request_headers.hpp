// Scrape module: the header policy for requests to instances (pure): which client headers are
// forwarded, the per-instance deadline and the X-Prometheus-Scrape-Timeout-Seconds value.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <mgw/scrape/target.hpp>

namespace mgw::scrape {

// Margin kept between an instance's deadline and Prometheus' own, so the merged answer can
// still be written before Prometheus gives up.
inline constexpr std::chrono::milliseconds scrape_timeout_margin{500};
// Never give an instance less than this, even if the client's timeout is tiny.
inline constexpr std::chrono::milliseconds min_scrape_timeout{100};

// True for RFC 9110 §7.6.1 hop-by-hop headers (and the proxy ones Go strips), case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Picks the client headers named in `forward_names` (case-insensitive), minus hop-by-hop
// headers, headers the client's `Connection` header lists, and headers the scraper sets itself
// (Host, Accept, Accept-Encoding, Content-Length, X-Prometheus-Scrape-Timeout-Seconds).
header_list select_forward_headers(const header_list& client_headers,
                                   std::span<const std::string> forward_names);

// Per-instance timeout: min(configured, client's X-Prometheus-Scrape-Timeout-Seconds - margin),
// floored at min_scrape_timeout. An absent or unparsable header leaves the configured value.
std::chrono::steady_clock::duration scrape_timeout(
    std::chrono::steady_clock::duration configured,
    std::optional<std::string_view> client_timeout_header);

// The X-Prometheus-Scrape-Timeout-Seconds value sent to an instance: time left, in seconds
// with millisecond precision ("9.500"), never negative.
std::string format_timeout_header(std::chrono::steady_clock::duration remaining);

}  // namespace mgw::scrape
