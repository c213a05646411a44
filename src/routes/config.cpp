// Reads the `routes` section with the core YAML toolkit: every static route needs a URI, a host
// and a port or TLS port, as a gorouter `router.register` message does.
#include <algorithm>

#include <mgw/core/config_reader.hpp>
#include <mgw/routes/config.hpp>

namespace mgw::routes {

namespace {

static_route read_static_route(const YAML::Node& node, const std::string& path) {
    const core::config_section s(node, path,
                                 {"uri", "host", "port", "tls_port", "server_cert_domain_san",
                                  "private_instance_id", "tags"});
    if (core::config_absent(node)) {
        throw core::config_error(path, "expected a mapping");
    }
    static_route route;
    core::read_string(s, "uri", route.uri);
    core::read_string(s, "host", route.host);
    core::read_uint(s, "port", route.port, 0, 65535);
    core::read_uint(s, "tls_port", route.tls_port, 0, 65535);
    core::read_string(s, "server_cert_domain_san", route.server_cert_domain_san);
    core::read_string(s, "private_instance_id", route.private_instance_id);
    core::read_string_map(s, "tags", route.tags);
    if (route.uri.empty()) {
        throw core::config_error(s.path_of("uri"), "required");
    }
    if (route.host.empty()) {
        throw core::config_error(s.path_of("host"), "required");
    }
    if (route.port == 0 && route.tls_port == 0) {
        throw core::config_error(s.path_of("port"), "port or tls_port required");
    }
    return route;
}

}  // namespace

route_table_options routes_config::table_options(const subscriber_options& announced) const {
    return {.max_stale_threshold =
                std::max(std::chrono::duration_cast<std::chrono::seconds>(stale_threshold),
                         announced.minimum_register_interval)};
}

routes_config read_routes_config(const YAML::Node& node, const std::string& path) {
    routes_config out;
    const core::config_section s(node, path, {"static", "stale_threshold"});
    const YAML::Node list = s.get("static");
    if (!core::config_absent(list)) {
        const std::string list_path = s.path_of("static");
        if (!list.IsSequence()) {
            throw core::config_error(list_path, "expected a sequence");
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            out.static_routes.push_back(
                read_static_route(list[i], core::config_element_path(list_path, i)));
        }
    }
    core::read_duration(s, "stale_threshold", out.stale_threshold, core::zero_duration::rejected);
    return out;
}

}  // namespace mgw::routes
