// The module sections' readers (until each moves into its module). Every mapping is checked
// against its list of known keys, every value against its type and range, so a misspelt or
// misplaced key is an error naming its full path.
#include <algorithm>
#include <limits>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <mgw/core/address.hpp>
#include <mgw/core/config.hpp>

namespace mgw::core {

void read_log(const YAML::Node& node, log_config& out) {
    const config_section s(node, "log", {"level", "format", "access"});
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
}

}  // namespace mgw::core
