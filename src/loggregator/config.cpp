// Reads the `loggregator` section with the core YAML toolkit, and turns it into the emitter's
// options. The agent requires mutual TLS, so the three files are required once a stream is on.
#include <fmt/format.h>

#include <mgw/core/config_reader.hpp>
#include <mgw/loggregator/config.hpp>

namespace mgw::loggregator {

using core::config_error;
using core::config_section;
using core::read_address;
using core::read_bool;
using core::read_byte_size;
using core::read_duration;
using core::read_string;
using core::read_uint;
using core::zero_duration;

emitter_options loggregator_config::emitter() const {
    const loggregator_config& l = *this;
    emitter_options settings;
    settings.agent.host = l.agent.host;
    settings.agent.port = l.agent.port;
    settings.agent.ca_file = l.tls.ca_file;
    settings.agent.cert_file = l.tls.cert_file;
    settings.agent.key_file = l.tls.key_file;
    settings.agent.server_name = l.server_name;
    settings.agent.connection.keepalive_time = l.keepalive_time;
    settings.agent.connection.keepalive_timeout = l.keepalive_timeout;
    settings.push = l.push;
    settings.bosh = l.bosh;
    settings.alerts = l.alerts;
    settings.counters = l.counters;
    settings.bosh_ip_tag = l.bosh_ip_tag;
    settings.queue_bytes = l.queue_bytes;
    settings.batch_size = l.batch_size;
    settings.batch_interval = l.batch_interval;
    return settings;
}

loggregator_config read_loggregator_config(const YAML::Node& node, const std::string& path) {
    loggregator_config out;
    const config_section s(
        node, path,
        {"push", "bosh", "alerts", "agent", "tls", "server_name", "counters", "bosh_ip_tag",
         "queue_bytes", "batch_size", "batch_interval", "keepalive_time", "keepalive_timeout"});
    read_bool(s, "push", out.push);
    read_bool(s, "bosh", out.bosh);
    read_bool(s, "alerts", out.alerts);
    read_address(s, "agent", out.agent);
    if (out.agent.port == 0) {
        throw config_error(s.path_of("agent"), "a port is required (the agent's is 3458)");
    }
    const config_section tls(s.get("tls"), s.path_of("tls"), {"ca_file", "cert_file", "key_file"});
    read_string(tls, "ca_file", out.tls.ca_file);
    read_string(tls, "cert_file", out.tls.cert_file);
    read_string(tls, "key_file", out.tls.key_file);
    read_string(s, "server_name", out.server_name);
    if (out.server_name.empty()) {
        throw config_error(s.path_of("server_name"), "must not be empty");
    }
    std::string counters;
    read_string(s, "counters", counters);
    if (counters == "counter") {
        out.counters = counter_style::counter;
    } else if (counters == "gauge" || counters.empty()) {
        out.counters = counter_style::gauge;
    } else {
        throw config_error(
            s.path_of("counters"),
            fmt::format("invalid value \"{}\" (expected gauge or counter)", counters));
    }
    read_string(s, "bosh_ip_tag", out.bosh_ip_tag);
    read_byte_size(s, "queue_bytes", out.queue_bytes, std::uint64_t{64} << 10,
                   std::uint64_t{1} << 30);
    read_uint(s, "batch_size", out.batch_size, 1, 1000);
    read_duration(s, "batch_interval", out.batch_interval, zero_duration::rejected);
    if (out.batch_interval > std::chrono::minutes(1)) {
        throw config_error(s.path_of("batch_interval"), "must be at most 1m");
    }
    read_duration(s, "keepalive_time", out.keepalive_time, zero_duration::allowed);
    if (out.keepalive_time.count() != 0 && out.keepalive_time < std::chrono::seconds(10)) {
        throw config_error(s.path_of("keepalive_time"),
                           "must be 0 (no pings) or at least 10s: the agent answers pings "
                           "closer than 10 s with GOAWAY too_many_pings");
    }
    read_duration(s, "keepalive_timeout", out.keepalive_timeout, zero_duration::rejected);
    if (!out.enabled()) {
        if (out.alerts) {
            throw config_error(s.path_of("alerts"), "needs loggregator.bosh");
        }
        return out;
    }
    const auto required = [&tls](std::string_view key, const std::string& value) {
        if (value.empty()) {
            throw config_error(tls.path_of(key),
                               "required when loggregator.push or loggregator.bosh is true (the "
                               "agent requires mutual TLS)");
        }
    };
    required("ca_file", out.tls.ca_file);
    required("cert_file", out.tls.cert_file);
    required("key_file", out.tls.key_file);
    if (out.alerts && !out.bosh) {
        throw config_error(s.path_of("alerts"), "needs loggregator.bosh");
    }
    return out;
}

}  // namespace mgw::loggregator
