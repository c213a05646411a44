// Reads core's own sections (log, limits) with the YAML toolkit, like every module reads its own.
#include <fmt/format.h>

#include <mgw/core/config.hpp>

namespace mgw::core {

log_config read_log_config(const YAML::Node& node, const std::string& path) {
    log_config out;
    const config_section s(node, path, {"level", "format", "access"});
    std::string text;
    read_string(s, "level", text);
    if (!text.empty() && !parse_log_level(text, out.level)) {
        throw config_error(
            s.path_of("level"),
            fmt::format("invalid value \"{}\" (expected debug, info, warn or error)", text));
    }
    text.clear();
    read_string(s, "format", text);
    if (!text.empty() && !parse_log_format(text, out.format)) {
        throw config_error(s.path_of("format"),
                           fmt::format("invalid value \"{}\" (expected json or text)", text));
    }
    read_bool(s, "access", out.access);
    return out;
}

limits_config read_limits_config(const YAML::Node& node, const std::string& path) {
    limits_config out;
    const config_section s(node, path, {"memory"});
    read_byte_size(s, "memory", out.memory, 0, std::uint64_t{1} << 50);
    if (out.memory != 0 && out.memory < (std::uint64_t{64} << 20)) {
        throw config_error(
            s.path_of("memory"),
            fmt::format("must be 0 (no ceiling) or at least 64MiB, got {}", out.memory));
    }
    return out;
}

}  // namespace mgw::core
