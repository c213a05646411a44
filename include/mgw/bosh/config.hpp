// The `bosh` section of the gateway's configuration: the HM ingest, the event and metrics
// endpoints, their UAA authority and the gRPC egress. Read here so that a bosh key is added in
// this module only; the service's and the egress's options are built from it here too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mgw/bosh/bosh_service.hpp>
#include <mgw/bosh/grpc_egress.hpp>
#include <mgw/bosh/token_validator.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/config_reader.hpp>

namespace mgw::bosh {

struct uaa_config {
    std::string url;  // required when bosh.ingest_listen is set: event streams need UAA
    std::string client_id;
    std::string client_secret;
    std::string ca_file;  // extra CA for UAA's certificate; system roots otherwise
    std::chrono::milliseconds timeout{std::chrono::seconds{10}};
    std::string issuer;  // auth jwt: the tokens' `iss`; "": <url>/oauth/token
};

// The BOSH System Metrics Server's gRPC egress (definitions.Egress/BoshMetrics), TLS only.
struct bosh_grpc_config {
    std::optional<core::listen_address> listen;  // YAML "": off (the original listened on :25595)
    core::server_tls_config tls;                 // required when listen is set
    std::uint32_t max_connections = 1000;
    std::uint32_t max_concurrent_streams = 100;  // per connection
    std::uint64_t send_queue_bytes = 1048576;    // per stream, leased from limits.memory
    std::chrono::milliseconds keepalive_time{std::chrono::minutes{1}};  // ping idle clients
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds{20}};
    // Client pings closer than this (without data in between) are strikes; the third one
    // ends the connection (grpc-go's EnforcementPolicy, as the original).
    std::chrono::milliseconds ping_min_time{std::chrono::seconds{5}};
};

struct bosh_config {
    std::optional<core::listen_address> ingest_listen;  // YAML "": HM ingest and /v1/bosh/* off
    // The ingest port is unauthenticated: a non-loopback ingest_listen is refused unless set.
    bool ingest_allow_remote = false;
    std::uint32_t ingest_max_connections = 64;
    std::chrono::milliseconds ingest_idle_timeout{std::chrono::minutes{2}};
    std::uint64_t max_line_bytes = 1048576;  // longer HM lines are skipped and counted
    std::uint32_t queue_size = 1024;         // events per subscription
    std::uint64_t queue_bytes = 4194304;     // bytes of events per subscription
    std::uint32_t max_subscriptions = 1024;
    // Ids with their own series in the per-subscription counters; the rest count as "other".
    std::vector<std::string> labelled_subscriptions{"bosh-system-metrics-forwarder"};
    std::uint64_t gauges_max_bytes = 134217728;                 // what /v1/bosh/metrics may hold
    bosh::metrics_auth metrics_auth = bosh::metrics_auth::uaa;  // who may read /v1/bosh/metrics
    std::chrono::milliseconds subscription_idle_expiry{std::chrono::minutes{10}};
    std::chrono::milliseconds heartbeat_staleness{std::chrono::minutes{5}};
    std::chrono::milliseconds stream_keepalive{std::chrono::seconds{15}};
    auth_mode auth = auth_mode::check_token;  // how /v1/bosh/events checks bearer tokens
    uaa_config uaa;
    bosh_grpc_config grpc;

    // The service's options (HM ingest, subscriptions, gauges, UAA). Call with ingest_listen set.
    bosh_service_options service_options() const;
    // The gRPC egress's options. Call with grpc.listen set.
    grpc_egress_options egress_options() const;
};

// Reads the section `node` found at `path` (absent or null: the defaults, BOSH off). Throws
// core::config_error naming the key's path ("bosh.grpc.tls").
bosh_config read_bosh_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::bosh
