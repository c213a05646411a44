// The gateway's configuration as the aggregate of the modules' sections: the top-level keys are
// checked here, each section is handed to its module's reader in the file's order, and the
// checks that span modules (a Loggregator stream needs its source) run once all are read.
#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include <mgw/gateway/config.hpp>

namespace mgw::gateway {

using core::config_error;
using core::config_section;

std::uint32_t gateway_config::resolved_threads() const {
    if (threads != 0) {
        return threads;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

gateway_config default_config() {
    return gateway_config{};
}

namespace {

void read_routes_api(const YAML::Node& node, routes_api_config& out) {
    const config_section s(node, "routes_api", {"username", "password"});
    core::read_string(s, "username", out.username);
    core::read_string(s, "password", out.password);
    core::require_together(s, "username", out.username, "password", out.password);
}

// The Loggregator streams' sources live in other modules.
void check_loggregator_sources(const gateway_config& config) {
    if (config.loggregator.bosh && !config.bosh.ingest_listen) {
        throw config_error("loggregator.bosh",
                           "needs bosh.ingest_listen: heartbeats come from the HM plugin");
    }
    if (config.loggregator.push && !(config.push.enabled && config.broker.enabled)) {
        throw config_error("loggregator.push",
                           "needs push.enabled and broker.enabled: pushes are served only with "
                           "the broker's access keys");
    }
}

// Cluster mode talks over the top-level NATS connection.
void check_cluster_transport(const gateway_config& config) {
    if (config.cluster.enabled && !config.nats.enabled()) {
        throw config_error("cluster.enabled",
                           "needs nats.servers: the cluster's nodes find each other over NATS");
    }
}

gateway_config read_document(const YAML::Node& root) {
    gateway_config config;
    const config_section s(
        root, "",
        {"listen", "tls", "health_listen", "threads", "nats", "routes", "scrape", "push", "broker",
         "bosh", "rsocket", "log", "shutdown", "http", "routes_api", "limits", "external_exporters",
         "loggregator", "cluster"});
    core::read_address(s, "listen", config.listen);
    core::read_server_tls(s.get("tls"), "tls", config.tls);
    core::read_address(s, "health_listen", config.health_listen);
    if (config.health_listen == config.listen && config.listen.port != 0) {
        throw config_error("health_listen",
                           fmt::format("must differ from listen ({})", config.listen.to_string()));
    }
    core::read_uint(s, "threads", config.threads, 0, max_threads);
    config.nats = nats::read_nats_config(s.get("nats"), s.path_of("nats"));
    config.routes = routes::read_routes_config(s.get("routes"), s.path_of("routes"));
    config.scrape = scrape::read_scrape_config(s.get("scrape"), s.path_of("scrape"));
    config.push = push::read_push_config(s.get("push"), s.path_of("push"));
    config.broker = broker::read_broker_config(s.get("broker"), s.path_of("broker"));
    config.bosh = bosh::read_bosh_config(s.get("bosh"), s.path_of("bosh"));
    config.rsocket = rsocket::read_rsocket_config(s.get("rsocket"), s.path_of("rsocket"));
    config.loggregator =
        loggregator::read_loggregator_config(s.get("loggregator"), s.path_of("loggregator"));
    check_loggregator_sources(config);
    config.log = core::read_log_config(s.get("log"), s.path_of("log"));
    const config_section shutdown(s.get("shutdown"), "shutdown", {"drain_timeout"});
    core::read_duration(shutdown, "drain_timeout", config.shutdown.drain_timeout,
                        core::zero_duration::allowed);
    config.http = http::read_http_config(s.get("http"), s.path_of("http"));
    read_routes_api(s.get("routes_api"), config.routes_api);
    config.limits = core::read_limits_config(s.get("limits"), s.path_of("limits"));
    config.external_exporters = apps::read_external_exporters_config(
        s.get("external_exporters"), s.path_of("external_exporters"));
    config.cluster = cluster::read_cluster_config(s.get("cluster"), s.path_of("cluster"));
    check_cluster_transport(config);
    return config;
}

}  // namespace

gateway_config load_config(std::string_view yaml_text) {
    const auto document = core::parse_config_document(yaml_text, "");
    return document ? read_document(*document) : default_config();
}

gateway_config load_config_file(const std::string& path) {
    const auto document = core::parse_config_document(core::read_config_file(path), path);
    return document ? read_document(*document) : default_config();
}

}  // namespace mgw::gateway
