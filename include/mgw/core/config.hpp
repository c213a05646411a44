// Core's own sections of the gateway's configuration: the log (core/log.hpp) and the
// process-wide limits (core/memory_budget.hpp). Every other section is read by the module it
// configures; the YAML toolkit they all use is core/config_reader.hpp.
#pragma once

#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/core/config_reader.hpp>
#include <mgw/core/log.hpp>

namespace mgw::core {

struct log_config {
    log_level level = log_level::info;
    log_format format = log_format::json;
    bool access = true;  // one line per HTTP request, as gorouter and nginx do by default
};

// Process-wide limits that no single module can enforce alone.
struct limits_config {
    // Ceiling on the resident memory the gateway may reach because of what clients send or ask
    // for (answers in flight, bodies, frames, queues); 0: no ceiling. YAML: bytes, or a number
    // with KiB, MiB or GiB.
    std::uint64_t memory = std::uint64_t{2} << 30;
};

// Each reads the section `node` found at `path` (absent or null: the defaults). Throws
// config_error naming the key's path.
log_config read_log_config(const YAML::Node& node, const std::string& path);
limits_config read_limits_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::core
