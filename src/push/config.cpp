// Reads the `push` section with the core YAML toolkit.
#include <mgw/core/config_reader.hpp>
#include <mgw/push/config.hpp>

namespace mgw::push {

push_service_options push_config::service_options() const {
    push_service_options options;
    options.max_body_bytes = max_body_bytes;
    options.store.ttl = ttl;
    return options;
}

push_config read_push_config(const YAML::Node& node, const std::string& path) {
    push_config out;
    const core::config_section s(node, path, {"enabled", "ttl", "max_body_bytes"});
    core::read_bool(s, "enabled", out.enabled);
    core::read_duration(s, "ttl", out.ttl, core::zero_duration::rejected);
    core::read_uint(s, "max_body_bytes", out.max_body_bytes, 1, std::uint64_t{1} << 32);
    return out;
}

}  // namespace mgw::push
