// The gateway's configuration: one YAML file, every key pinned in DESIGN.md, validated in full at
// startup so that a typo stops the process with the key's path instead of being ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/core/address.hpp>
#include <mgw/core/config_reader.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/tag_template.hpp>

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

// Each section's reader: `node` is the section's value (absent or null: the defaults); what
// is not given keeps its default. Throws config_error naming the key's path.
void read_log(const YAML::Node& node, log_config& out);

}  // namespace mgw::core
