// The `loggregator` section of the gateway's configuration: which envelopes go to the local
// agent, how it is reached, and how they are batched. Read here so that a loggregator key is
// added in this module only; the emitter's options are built from it here too. That a stream's
// source is configured (bosh.ingest_listen, push with the broker) is the gateway's check.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/core/address.hpp>
#include <mgw/loggregator/emitter.hpp>

namespace mgw::loggregator {

// Mutual TLS with the agent (it requires a client certificate signed by its CA).
struct loggregator_tls_config {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
};

// The Loggregator v2 emitter: pushed metrics and HM heartbeats to the local agent, as the
// Metrics Forwarder and the System Metrics Forwarder sent them. Off unless push or bosh.
struct loggregator_config {
    bool push = false;    // accepted pushes
    bool bosh = false;    // HM heartbeats (needs bosh.ingest_listen)
    bool alerts = false;  // HM alerts as v2 Events (needs bosh); the original dropped them
    core::listen_address agent{"127.0.0.1", 3458};
    loggregator_tls_config tls;                     // required when push or bosh
    std::string server_name = "metron";             // verified in the agent's certificate
    counter_style counters = counter_style::gauge;  // how pushed counters reach the Firehose
    std::string bosh_ip_tag;  // the `ip` tag of heartbeat envelopes (--envelope-ip-tag)
    std::uint64_t queue_bytes = std::uint64_t{8} << 20;  // leased from limits.memory
    std::uint32_t batch_size = 100;
    std::chrono::milliseconds batch_interval{100};
    // The agent enforces at least 10 s between pings (more often: GOAWAY too_many_pings).
    std::chrono::milliseconds keepalive_time{std::chrono::seconds{15}};
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds{20}};

    bool enabled() const { return push || bosh; }
    // The emitter's options from this section.
    emitter_options emitter() const;
};

// Reads the section `node` found at `path` (absent or null: the defaults, emitter off). Throws
// core::config_error naming the key's path ("loggregator.tls.ca_file").
loggregator_config read_loggregator_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::loggregator
