// Shared by the config tests: what load_config says about a YAML text.
#pragma once

#include <string>

#include <mgw/gateway/config.hpp>

namespace mgw::gateway::test {

// The message load_config throws for `yaml`, or "" when it loads.
inline std::string error_of(const std::string& yaml) {
    try {
        load_config(yaml);
    } catch (const core::config_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace mgw::gateway::test
