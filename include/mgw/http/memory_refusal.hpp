// HTTP server module: the answer every part of the gateway gives when the memory ceiling
// (limits.memory, core::memory_budget) refuses the bytes a request needs: 503 with Retry-After
// and a short text naming what did not fit. Only the refused client sees it; the refusal itself
// is counted by the budget (mgw_memory_refusals_total{use}).
#pragma once

#include <string_view>

#include <mgw/http/response.hpp>

namespace mgw::http {

// Seconds a refused client is told to wait: the bytes in flight are given back as answers end.
inline constexpr std::string_view memory_retry_after_seconds = "1";

// Makes `res` a complete 503 `memory limit reached: no room for <what>, retry later`.
void answer_memory_refusal(response& res, std::string_view what);

}  // namespace mgw::http
