// Reads the `push` section with the core YAML toolkit.
#include <mgw/core/config_reader.hpp>
#include <mgw/push/config.hpp>

namespace mgw::push {

push_service_options push_config::service_options() const {
    push_service_options options;
    options.max_body_bytes = max_body_bytes;
    options.store.ttl = ttl;
    options.rate_window = rate_window;
    return options;
}

push_config read_push_config(const YAML::Node& node, const std::string& path) {
    push_config out;
    const core::config_section s(node, path, {"enabled", "ttl", "max_body_bytes", "rate_window"});
    core::read_bool(s, "enabled", out.enabled);
    core::read_duration(s, "ttl", out.ttl, core::zero_duration::rejected);
    core::read_uint(s, "max_body_bytes", out.max_body_bytes, 1, std::uint64_t{1} << 32);
    std::chrono::milliseconds window = out.rate_window;
    core::read_duration(s, "rate_window", window, core::zero_duration::rejected);
    if (window < std::chrono::seconds(1) || window > std::chrono::hours(1) ||
        window % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
        throw core::config_error(s.path_of("rate_window"),
                                 "must be whole seconds between 1s and 1h");
    }
    out.rate_window = std::chrono::duration_cast<std::chrono::seconds>(window);
    return out;
}

}  // namespace mgw::push
