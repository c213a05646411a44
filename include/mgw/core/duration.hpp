// Go-style duration strings ("500ms", "10s", "1m30s", "1h") as used by every duration in the
// gateway's YAML config, so operators can reuse the values they wrote for Promfetcher.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mgw::core {

// Parses a non-negative Go duration: one or more `<number><unit>` terms, the number possibly
// decimal ("1.5s"), units ns, us (or µs), ms, s, m, h; a bare "0" is zero. The result is
// truncated to whole milliseconds. Returns nullopt for anything else, including negative
// values and results that do not fit in a signed 64-bit count of milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest Go-style spelling that parses back to the same value: "0s", "500ms", "1m30s",
// "2h0m1.5s" is written as "2h1.5s" (zero terms are left out).
std::string format_duration(std::chrono::milliseconds value);

}  // namespace mgw::core
