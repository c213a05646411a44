// The gateway's version, as printed by `metrics-gateway version` and exported in
// mgw_build_info.
#pragma once

#include <string_view>

namespace mgw::core {

// "0.1.0" (semantic versioning, no leading "v").
std::string_view version();

}  // namespace mgw::core
