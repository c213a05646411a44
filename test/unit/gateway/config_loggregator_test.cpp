// The loggregator section: defaults (and config/gateway.yml showing them), every key read, and
// each start-up error naming its key path.
#include <string>

#include <catch2/catch.hpp>

#include <mgw/gateway/config.hpp>

#include "config_test_support.hpp"

using namespace std::chrono_literals;
using mgw::core::listen_address;
using mgw::gateway::load_config;
using mgw::loggregator::counter_style;

namespace {

using mgw::gateway::test::error_of;

// What every enabled emitter needs besides its own keys.
const std::string tls = "  tls: { ca_file: ca.pem, cert_file: c.pem, key_file: k.pem }\n";
const std::string push_prerequisites =
    "push: { enabled: true }\nbroker: { enabled: true, username: u, password: p }\n";
const std::string bosh_prerequisites =
    "bosh:\n  ingest_listen: 127.0.0.1:25594\n  uaa: { url: 'https://uaa', client_id: c, "
    "client_secret: s }\n";

}  // namespace

TEST_CASE("loggregator: off by default, with the agent's defaults") {
    const auto c = mgw::gateway::default_config();
    const auto& l = c.loggregator;
    CHECK_FALSE(l.enabled());
    CHECK_FALSE(l.push);
    CHECK_FALSE(l.bosh);
    CHECK_FALSE(l.alerts);
    CHECK(l.agent == listen_address{"127.0.0.1", 3458});
    CHECK(l.server_name == "metron");
    CHECK(l.counters == counter_style::gauge);
    CHECK(l.bosh_ip_tag.empty());
    CHECK(l.queue_bytes == 8 * 1024 * 1024);
    CHECK(l.batch_size == 100);
    CHECK(l.batch_interval == 100ms);
    CHECK(l.keepalive_time == 15s);
    CHECK(l.keepalive_timeout == 20s);
}

TEST_CASE("config/gateway.yml shows the loggregator defaults") {
    const auto file = mgw::gateway::load_config_file(MGW_SOURCE_DIR "/config/gateway.yml");
    const auto defaults = mgw::gateway::default_config();
    const auto& a = file.loggregator;
    const auto& b = defaults.loggregator;
    CHECK(a.push == b.push);
    CHECK(a.bosh == b.bosh);
    CHECK(a.alerts == b.alerts);
    CHECK(a.agent == b.agent);
    CHECK(a.tls.ca_file == b.tls.ca_file);
    CHECK(a.tls.cert_file == b.tls.cert_file);
    CHECK(a.tls.key_file == b.tls.key_file);
    CHECK(a.server_name == b.server_name);
    CHECK(a.counters == b.counters);
    CHECK(a.bosh_ip_tag == b.bosh_ip_tag);
    CHECK(a.queue_bytes == b.queue_bytes);
    CHECK(a.batch_size == b.batch_size);
    CHECK(a.batch_interval == b.batch_interval);
    CHECK(a.keepalive_time == b.keepalive_time);
    CHECK(a.keepalive_timeout == b.keepalive_timeout);
}

TEST_CASE("loggregator: every key is read") {
    const auto c = load_config(push_prerequisites + bosh_prerequisites +
                               "loggregator:\n  push: true\n  bosh: true\n  alerts: true\n"
                               "  agent: localhost:13458\n" +
                               tls +
                               "  server_name: agent.internal\n  counters: counter\n"
                               "  bosh_ip_tag: 10.0.0.6\n  queue_bytes: 1MiB\n  batch_size: 50\n"
                               "  batch_interval: 250ms\n  keepalive_time: 30s\n"
                               "  keepalive_timeout: 5s\n");
    const auto& l = c.loggregator;
    CHECK(l.enabled());
    CHECK(l.push);
    CHECK(l.bosh);
    CHECK(l.alerts);
    CHECK(l.agent == listen_address{"localhost", 13458});
    CHECK(l.tls.ca_file == "ca.pem");
    CHECK(l.tls.cert_file == "c.pem");
    CHECK(l.tls.key_file == "k.pem");
    CHECK(l.server_name == "agent.internal");
    CHECK(l.counters == counter_style::counter);
    CHECK(l.bosh_ip_tag == "10.0.0.6");
    CHECK(l.queue_bytes == 1024 * 1024);
    CHECK(l.batch_size == 50);
    CHECK(l.batch_interval == 250ms);
    CHECK(l.keepalive_time == 30s);
    CHECK(l.keepalive_timeout == 5s);

    // Keepalive off is allowed (0), as are the bounds.
    CHECK(error_of("loggregator: { keepalive_time: 0s, batch_size: 1000, queue_bytes: 64KiB }")
              .empty());
}

TEST_CASE("loggregator: start-up errors name the key") {
    CHECK(error_of("loggregator: { pusj: true }") == "loggregator.pusj: unknown key");
    CHECK(error_of("loggregator: { push: yes please }") ==
          "loggregator.push: expected true or false, got \"yes please\"");
    CHECK(error_of("loggregator: { agent: nowhere }") ==
          "loggregator.agent: invalid address \"nowhere\" (expected host:port)");
    CHECK(error_of("loggregator: { agent: '127.0.0.1:0' }") ==
          "loggregator.agent: a port is required (the agent's is 3458)");
    CHECK(error_of("loggregator: { tls: { cert: x } }") == "loggregator.tls.cert: unknown key");
    CHECK(error_of("loggregator: { server_name: '' }") ==
          "loggregator.server_name: must not be empty");
    CHECK(error_of("loggregator: { counters: total }") ==
          "loggregator.counters: invalid value \"total\" (expected gauge or counter)");
    CHECK(error_of("loggregator: { queue_bytes: 1KiB }") ==
          "loggregator.queue_bytes: must be between 65536 and 1073741824 bytes, got 1KiB");
    CHECK(error_of("loggregator: { batch_size: 0 }") ==
          "loggregator.batch_size: must be between 1 and 1000, got 0");
    CHECK(error_of("loggregator: { batch_interval: 0s }") ==
          "loggregator.batch_interval: must be greater than 0, got 0s");
    CHECK(error_of("loggregator: { batch_interval: 2m }") ==
          "loggregator.batch_interval: must be at most 1m");
    CHECK(error_of("loggregator: { keepalive_time: 5s }") ==
          "loggregator.keepalive_time: must be 0 (no pings) or at least 10s: the agent answers "
          "pings closer than 10 s with GOAWAY too_many_pings");
    CHECK(error_of("loggregator: { alerts: true }") ==
          "loggregator.alerts: needs loggregator.bosh");
}

TEST_CASE("loggregator: on, it needs mutual TLS and its sources") {
    CHECK(error_of(push_prerequisites + "loggregator: { push: true }") ==
          "loggregator.tls.ca_file: required when loggregator.push or loggregator.bosh is true "
          "(the agent requires mutual TLS)");
    CHECK(error_of(push_prerequisites +
                   "loggregator: { push: true, tls: { ca_file: a, cert_file: b } }") ==
          "loggregator.tls.key_file: required when loggregator.push or loggregator.bosh is true "
          "(the agent requires mutual TLS)");
    CHECK(error_of("loggregator:\n  push: true\n" + tls) ==
          "loggregator.push: needs push.enabled and broker.enabled: pushes are served only with "
          "the broker's access keys");
    CHECK(error_of("loggregator:\n  bosh: true\n" + tls) ==
          "loggregator.bosh: needs bosh.ingest_listen: heartbeats come from the HM plugin");
    CHECK(error_of(push_prerequisites + "loggregator:\n  push: true\n  alerts: true\n" + tls) ==
          "loggregator.alerts: needs loggregator.bosh");
    CHECK(error_of(push_prerequisites + "loggregator:\n  push: true\n" + tls).empty());
    CHECK(error_of(bosh_prerequisites + "loggregator:\n  bosh: true\n  alerts: true\n" + tls)
              .empty());
}
