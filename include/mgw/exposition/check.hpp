// Validation entry point behind `metrics-gateway check`: parses a body in a given or detected
// format and turns the outcome into an exit status and a one-line diagnostic.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mgw/exposition/model.hpp"

namespace mgw::exposition {

// Returns 0 when `input` is a valid exposition, 1 otherwise with `diagnostic` set to
// "line:col: reason". `fmt` = nullopt detects the format with detect_format().
int check_exposition(std::string_view input, std::optional<format> fmt, std::string& diagnostic);

}  // namespace mgw::exposition
