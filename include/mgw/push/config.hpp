// The `push` section of the gateway's configuration: whether POST /v1/metrics is served, how
// long pushed series live and how large a push may be. Read here so that a push key is added
// in this module only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/push/push_service.hpp>

namespace mgw::push {

struct push_config {
    bool enabled = true;
    std::chrono::milliseconds ttl{std::chrono::minutes{5}};
    std::uint64_t max_body_bytes = 1048576;
    // The rate limits' window. 60 s is what the plans' *_per_minute and the clients assume;
    // shorter windows exist for tests (limits then hold per window, not per minute).
    std::chrono::seconds rate_window{60};

    // The service's options: body limit and series TTL from this section, the rest defaults.
    push_service_options service_options() const;
};

// Reads the section `node` found at `path` (absent or null: the defaults). Throws
// core::config_error naming the key's path.
push_config read_push_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::push
