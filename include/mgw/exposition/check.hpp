// Validation entry point behind `metrics-gateway check`: parses a body in a given or detected
// format and turns the outcome into an exit status and diagnostics.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/exposition/model.hpp"

namespace mgw::exposition {

// Returns 0 when `input` is a valid exposition, 1 otherwise with `diagnostic` set to
// "line:col: reason". `fmt` = nullopt detects the format with detect_format().
int check_exposition(std::string_view input, std::optional<format> fmt, std::string& diagnostic);

// `check --lenient`: reads `input` as the gateway reads a source (read_lenient). Returns 0 when
// the gateway would serve it, with what the read changed in `diagnostics` ("line:col: action:
// reason" each, the first leniency_report::max_notes of them, then a line counting the rest
// and the samples left out); 1 when even a lenient read rejects it, with "line:col: reason".
int check_exposition_lenient(std::string_view input, std::optional<format> fmt,
                             std::vector<std::string>& diagnostics);

}  // namespace mgw::exposition
