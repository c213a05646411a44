// Number and timestamp parsing for expositions: the grammar is checked here (std::from_chars
// alone would accept hex-less but otherwise looser input and rejects '+' and "Inf"), and the
// common short decimal is converted exactly without calling into the library.
#pragma once

#include <cstdint>
#include <string_view>

namespace mgw::exposition::detail {

// Exposition number grammar (both formats):
//   [sign] (digits ["." digits*] | "." digits) [("e" | "E") [sign] digits]
//   | [sign] ("inf" | "infinity")   any case
//   | "nan"                          any case
// Hex floats, underscores, blanks and a signed NaN are rejected.
bool parse_number(std::string_view text, double& out);

// Prometheus text timestamp: optional '-' then decimal digits, an int64 of milliseconds.
bool parse_prometheus_timestamp(std::string_view text, std::int64_t& out);

}  // namespace mgw::exposition::detail
