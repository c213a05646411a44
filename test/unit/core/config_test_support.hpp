// Shared by the config tests: what load_config says about a YAML text.
#pragma once

#include <string>

#include <mgw/core/config.hpp>

namespace mgw::core::test {

// The message load_config throws for `yaml`, or "" when it loads.
inline std::string error_of(const std::string& yaml) {
    try {
        load_config(yaml);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace mgw::core::test
