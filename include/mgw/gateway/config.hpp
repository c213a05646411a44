// The gateway's configuration: one YAML file, every key shown with its default in
// config/gateway.yml, validated in full at startup so that a typo stops the process with the
// key's path instead of being ignored. It is the aggregate of the modules' sections (each module
// reads its own) plus the few keys that belong to the process itself: its listeners, threads,
// drain and own endpoints.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/apps/external_exporter_config.hpp>
#include <mgw/bosh/config.hpp>
#include <mgw/broker/config.hpp>
#include <mgw/cluster/config.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/config.hpp>
#include <mgw/core/config_reader.hpp>
#include <mgw/http/config.hpp>
#include <mgw/loggregator/config.hpp>
#include <mgw/nats/config.hpp>
#include <mgw/push/config.hpp>
#include <mgw/routes/config.hpp>
#include <mgw/rsocket/config.hpp>
#include <mgw/scrape/config.hpp>

namespace mgw::gateway {

struct shutdown_config {
    std::chrono::milliseconds drain_timeout{std::chrono::seconds{15}};
};

// Basic auth for GET /routes (and /status, /v1/sd); both empty: the endpoint is disabled.
struct routes_api_config {
    std::string username;
    std::string password;

    bool enabled() const { return !username.empty(); }
};

struct gateway_config {
    core::listen_address listen{"127.0.0.1", 8085};
    core::server_tls_config tls;
    core::listen_address health_listen{"127.0.0.1", 8080};
    std::uint32_t threads = 0;  // 0: one per core, see resolved_threads()
    nats::client_options nats;
    routes::routes_config routes;
    scrape::scrape_config scrape;
    push::push_config push;
    broker::broker_config broker;
    bosh::bosh_config bosh;
    rsocket::rsocket_config rsocket;
    loggregator::loggregator_config loggregator;
    core::log_config log;
    shutdown_config shutdown;
    http::http_config http;
    routes_api_config routes_api;
    core::limits_config limits;
    std::vector<apps::external_exporter_config> external_exporters;
    cluster::cluster_config cluster;

    // `threads`, or the number of cores when it is 0 (at least 1).
    std::uint32_t resolved_threads() const;
};

inline constexpr std::uint32_t max_threads = 1024;

// The embedded defaults: what `metrics-gateway` runs with when given no --config.
gateway_config default_config();

// Parses and validates a YAML document; keys not given keep their defaults. An empty
// document yields default_config(). Throws core::config_error.
gateway_config load_config(std::string_view yaml_text);

// Reads `path` and calls load_config. Throws core::config_error (path = the file name) when the
// file cannot be read; validation errors keep the key path.
gateway_config load_config_file(const std::string& path);

}  // namespace mgw::gateway
