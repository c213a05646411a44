// Content negotiation for expositions: picks Prometheus text 0.0.4 or OpenMetrics from an Accept
// header and names the exact Content-Type to answer with; also the Accept headers sent upstream.
#pragma once

#include <string_view>

#include <mgw/exposition/model.hpp>

namespace mgw::exposition {

inline constexpr std::string_view prometheus_text_content_type =
    "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view openmetrics_content_type =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
// OpenMetrics 0.0.1 is the same text syntax as 1.0.0; like client_golang, a scraper that asks
// for 0.0.1 gets the same body labelled with the version it asked for.
inline constexpr std::string_view openmetrics_0_0_1_content_type =
    "application/openmetrics-text; version=0.0.1; charset=utf-8";

// Promfetcher's upstream Accept headers, the one copy: /v1 prefers OpenMetrics, /v2
// asks for 0.0.4 only.
inline constexpr std::string_view promfetcher_v1_accept =
    "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
inline constexpr std::string_view promfetcher_v2_accept =
    "text/plain; version=0.0.4; charset=utf-8";

// Accept headers longer than this, or with more media ranges, are treated as absent.
inline constexpr std::size_t max_accept_bytes = 4096;
inline constexpr std::size_t max_accept_ranges = 64;

struct negotiated_format {
    format output = format::prometheus_text;
    std::string_view content_type = prometheus_text_content_type;  // one of the constants above
    // The chosen media range carried `escaping=allow-utf-8`: non-legacy names may be written
    // quoted. Otherwise they must be escaped (writer_options::utf8_names = false).
    bool utf8_names = false;
};

// The highest-q media range we can produce wins (earlier range on ties): OpenMetrics for
// `application/openmetrics-text` with version 1.0.0, 0.0.1 or none, 0.0.4 for `text/plain` with
// version 0.0.4 or none; `application/*` means OpenMetrics, `text/*` and `*/*` mean 0.0.4.
// Malformed ranges (bad tokens, control characters, bad q, a charset other than UTF-8, unknown
// versions) are ignored. Nothing acceptable, or no header: 0.0.4, the last-resort format of
// Prometheus' content negotiation. The returned strings are constants, never request text.
negotiated_format negotiate(std::string_view accept);

std::string_view content_type_for(format output);

}  // namespace mgw::exposition
