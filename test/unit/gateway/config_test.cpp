// Config loading: defaults, a full config, and every validation error with its exact message.
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <mgw/gateway/config.hpp>

#include "config_test_support.hpp"

using namespace std::chrono_literals;
using mgw::core::config_error;
using mgw::core::listen_address;
using mgw::core::log_format;
using mgw::core::log_level;
using mgw::gateway::gateway_config;
using mgw::gateway::load_config;

namespace {

using mgw::gateway::test::error_of;

void check_defaults(const gateway_config& c) {
    CHECK(c.listen == listen_address{"127.0.0.1", 8085});
    CHECK(c.tls.cert_file.empty());
    CHECK(c.tls.key_file.empty());
    CHECK_FALSE(c.tls.enabled());
    CHECK(c.health_listen == listen_address{"127.0.0.1", 8080});
    CHECK(c.threads == 0);
    CHECK(c.resolved_threads() >= 1);
    CHECK(c.nats.servers.empty());
    CHECK_FALSE(c.nats.enabled());
    CHECK(c.nats.user.empty());
    CHECK(c.nats.password.empty());
    CHECK(c.nats.tls.ca_file.empty());
    CHECK(c.nats.tls.cert_file.empty());
    CHECK(c.nats.tls.key_file.empty());
    CHECK_FALSE(c.nats.tls.skip_verify);
    CHECK(c.routes.static_routes.empty());
    CHECK(c.routes.stale_threshold == 120s);
    CHECK(c.scrape.timeout == 10s);
    CHECK(c.scrape.max_concurrency == 512);
    CHECK(c.scrape.forward_headers == std::vector<std::string>{"Authorization"});
    CHECK(c.scrape.max_body_bytes == 16 * 1024 * 1024);
    CHECK(c.scrape.tls.ca_file.empty());
    CHECK_FALSE(c.scrape.tls.skip_verify);
    CHECK(c.push.enabled);
    CHECK(c.push.ttl == 5min);
    CHECK(c.push.max_body_bytes == 1048576);
    CHECK_FALSE(c.broker.enabled);
    CHECK(c.broker.username.empty());
    CHECK(c.broker.password.empty());
    CHECK(c.broker.database.empty());
    CHECK_FALSE(c.bosh.ingest_listen.has_value());
    CHECK(c.bosh.uaa.url.empty());
    CHECK(c.bosh.uaa.client_id.empty());
    CHECK(c.bosh.uaa.client_secret.empty());
    CHECK(c.bosh.uaa.ca_file.empty());
    CHECK(c.bosh.uaa.timeout == 10s);
    CHECK(c.bosh.max_line_bytes == 1048576);
    CHECK(c.bosh.queue_size == 1024);
    CHECK(c.bosh.max_subscriptions == 1024);
    CHECK(c.bosh.subscription_idle_expiry == 10min);
    CHECK(c.bosh.heartbeat_staleness == 5min);
    CHECK(c.bosh.stream_keepalive == 15s);
    CHECK(c.bosh.auth == mgw::bosh::auth_mode::check_token);
    CHECK_FALSE(c.rsocket.tcp_listen.has_value());
    CHECK_FALSE(c.rsocket.websocket_listen.has_value());
    CHECK(c.rsocket.push_ttl == 5min);
    CHECK(c.rsocket.max_frame_bytes == 16777215);
    CHECK(c.rsocket.max_text_bytes == 67108864);
    CHECK(c.rsocket.max_connections == 10000);
    CHECK(c.rsocket.key_bits == 2048);
    CHECK_FALSE(c.rsocket.trust_declared_app_identity);
    CHECK(c.rsocket.setup_timeout == 10s);
    CHECK(c.rsocket.frame_timeout == 30s);
    CHECK(c.rsocket.max_connection_bytes == (std::uint64_t{128} << 20));
    CHECK(c.rsocket.max_held_push_bytes == (std::uint64_t{256} << 20));
    CHECK(c.rsocket.key_threads == 0);
    CHECK(c.rsocket.key_stock == 4);
    CHECK(c.rsocket.key_share_max_connections == 64);
    CHECK(c.rsocket.key_wait_target == 500ms);
    CHECK(c.log.level == log_level::info);
    CHECK(c.log.format == log_format::json);
    CHECK(c.log.access);
    CHECK(c.shutdown.drain_timeout == 15s);
    CHECK(c.http.header_limit == 16384);
    CHECK(c.http.body_limit == 1048576);
    CHECK(c.http.idle_timeout == 60s);
    CHECK(c.http.request_timeout == 30s);
    CHECK(c.http.max_connections == 10000);
    CHECK(c.http.max_pipelined == 16);
    CHECK(c.http.gzip_min_bytes == 1024);
    CHECK(c.routes_api.username.empty());
    CHECK(c.routes_api.password.empty());
    CHECK_FALSE(c.routes_api.enabled());
}

constexpr const char* full_config = R"(
listen: 0.0.0.0:443
tls: { cert_file: /var/vcap/jobs/gw/cert.pem, key_file: /var/vcap/jobs/gw/key.pem }
health_listen: "[::1]:8081"
threads: 4
nats:
  servers: [nats://10.0.0.1:4222, tls://10.0.0.2:4224]
  user: nats
  password: s3cret
  tls: { ca_file: /ca.pem, cert_file: /nats.pem, key_file: /nats.key, skip_verify: true }
routes:
  stale_threshold: 2m
  static:
    - uri: app.example.com
      host: 10.0.16.5
      port: 61001
      tls_port: 61443
      server_cert_domain_san: 5f0c4d2e-aaaa-bbbb-cccc-000000000001
      private_instance_id: 5f0c4d2e-aaaa-bbbb-cccc-000000000001
      tags: { app_id: 11111111-2222, app_name: my-app, space_name: dev, index: 0 }
    - { uri: other.example.com, host: 10.0.16.6, tls_port: 8443 }
scrape:
  timeout: 1m30s
  max_concurrency: 64
  forward_headers: [Authorization, X-Request-Id]
  max_body_bytes: 33554432
  tls: { ca_file: /backend-ca.pem, skip_verify: false }
push: { enabled: false, ttl: 90s, max_body_bytes: 65536 }
broker: { enabled: true, username: admin, password: pw, database: /var/vcap/store/gw.db }
bosh:
  ingest_listen: 127.0.0.1:25594
  max_line_bytes: 65536
  queue_size: 100
  max_subscriptions: 7
  subscription_idle_expiry: 30s
  heartbeat_staleness: 2m
  stream_keepalive: 5s
  auth: jwt
  uaa:
    url: "https://uaa.example.com"
    client_id: gw
    client_secret: shh
    ca_file: /var/vcap/jobs/gw/uaa_ca.pem
    timeout: 3s
rsocket:
  tcp_listen: ":7001"
  websocket_listen: 0.0.0.0:8081
  push_ttl: 30s
  max_frame_bytes: 1048576
  max_text_bytes: 2048
  max_connections: 5
  key_bits: 3072
  trust_declared_app_identity: true
  setup_timeout: 2s
  frame_timeout: 5s
  max_connection_bytes: 8MiB
  max_held_push_bytes: 1048576
  key_threads: 3
  key_stock: 0
  key_share_max_connections: 1
  key_wait_target: 250ms
log: { level: debug, format: text, access: false }
shutdown: { drain_timeout: 0s }
http:
  header_limit: 8192
  body_limit: 2097152
  idle_timeout: 5m
  request_timeout: 500ms
  max_connections: 200
  max_pipelined: 4
  gzip_min_bytes: 0
routes_api: { username: ops, password: routes-pw }
)";

}  // namespace

TEST_CASE("default_config has the documented defaults (config/gateway.yml)", "[config]") {
    check_defaults(mgw::gateway::default_config());
}

TEST_CASE("an empty or comment-only document yields every default", "[config]") {
    check_defaults(load_config(""));
    check_defaults(load_config("# nothing here\n"));
    check_defaults(load_config("---\n"));
}

TEST_CASE("sections left empty keep their defaults", "[config]") {
    check_defaults(
        load_config("tls:\nnats: {}\nroutes:\nscrape: {}\npush:\nbroker:\nbosh: "
                    "{uaa: {}}\nrsocket:\nlog:\nshutdown:\nhttp: {}\nroutes_api:\n"));
}

TEST_CASE("a full config sets every key", "[config]") {
    const gateway_config c = load_config(full_config);
    CHECK(c.listen == listen_address{"0.0.0.0", 443});
    CHECK(c.tls.cert_file == "/var/vcap/jobs/gw/cert.pem");
    CHECK(c.tls.key_file == "/var/vcap/jobs/gw/key.pem");
    CHECK(c.tls.enabled());
    CHECK(c.health_listen == listen_address{"::1", 8081});
    CHECK(c.threads == 4);
    CHECK(c.resolved_threads() == 4);
    CHECK(c.nats.servers ==
          std::vector<std::string>{"nats://10.0.0.1:4222", "tls://10.0.0.2:4224"});
    CHECK(c.nats.enabled());
    CHECK(c.nats.user == "nats");
    CHECK(c.nats.password == "s3cret");
    CHECK(c.nats.tls.ca_file == "/ca.pem");
    CHECK(c.nats.tls.cert_file == "/nats.pem");
    CHECK(c.nats.tls.key_file == "/nats.key");
    CHECK(c.nats.tls.skip_verify);
    CHECK(c.routes.stale_threshold == 2min);
    REQUIRE(c.routes.static_routes.size() == 2);
    const auto& first = c.routes.static_routes[0];
    CHECK(first.uri == "app.example.com");
    CHECK(first.host == "10.0.16.5");
    CHECK(first.port == 61001);
    CHECK(first.tls_port == 61443);
    CHECK(first.server_cert_domain_san == "5f0c4d2e-aaaa-bbbb-cccc-000000000001");
    CHECK(first.private_instance_id == "5f0c4d2e-aaaa-bbbb-cccc-000000000001");
    CHECK(first.tags == std::map<std::string, std::string>{{"app_id", "11111111-2222"},
                                                           {"app_name", "my-app"},
                                                           {"space_name", "dev"},
                                                           {"index", "0"}});
    const auto& second = c.routes.static_routes[1];
    CHECK(second.uri == "other.example.com");
    CHECK(second.port == 0);
    CHECK(second.tls_port == 8443);
    CHECK(second.tags.empty());
    CHECK(c.scrape.timeout == 90s);
    CHECK(c.scrape.max_concurrency == 64);
    CHECK(c.scrape.forward_headers == std::vector<std::string>{"Authorization", "X-Request-Id"});
    CHECK(c.scrape.max_body_bytes == 33554432);
    CHECK(c.scrape.tls.ca_file == "/backend-ca.pem");
    CHECK_FALSE(c.scrape.tls.skip_verify);
    CHECK_FALSE(c.push.enabled);
    CHECK(c.push.ttl == 90s);
    CHECK(c.push.max_body_bytes == 65536);
    CHECK(c.broker.enabled);
    CHECK(c.broker.username == "admin");
    CHECK(c.broker.password == "pw");
    CHECK(c.broker.database == "/var/vcap/store/gw.db");
    CHECK(c.bosh.ingest_listen == listen_address{"127.0.0.1", 25594});
    CHECK(c.bosh.uaa.url == "https://uaa.example.com");
    CHECK(c.bosh.uaa.client_id == "gw");
    CHECK(c.bosh.uaa.client_secret == "shh");
    CHECK(c.bosh.uaa.ca_file == "/var/vcap/jobs/gw/uaa_ca.pem");
    CHECK(c.bosh.uaa.timeout == 3s);
    CHECK(c.bosh.max_line_bytes == 65536);
    CHECK(c.bosh.queue_size == 100);
    CHECK(c.bosh.max_subscriptions == 7);
    CHECK(c.bosh.subscription_idle_expiry == 30s);
    CHECK(c.bosh.heartbeat_staleness == 2min);
    CHECK(c.bosh.stream_keepalive == 5s);
    CHECK(c.bosh.auth == mgw::bosh::auth_mode::jwt);
    CHECK(c.rsocket.tcp_listen == listen_address{"", 7001});
    CHECK(c.rsocket.websocket_listen == listen_address{"0.0.0.0", 8081});
    CHECK(c.rsocket.push_ttl == 30s);
    CHECK(c.rsocket.max_frame_bytes == 1048576);
    CHECK(c.rsocket.max_text_bytes == 2048);
    CHECK(c.rsocket.max_connections == 5);
    CHECK(c.rsocket.key_bits == 3072);
    CHECK(c.rsocket.trust_declared_app_identity);
    CHECK(c.rsocket.setup_timeout == 2s);
    CHECK(c.rsocket.frame_timeout == 5s);
    CHECK(c.rsocket.max_connection_bytes == (std::uint64_t{8} << 20));
    CHECK(c.rsocket.max_held_push_bytes == 1048576);
    CHECK(c.rsocket.key_threads == 3);
    CHECK(c.rsocket.key_stock == 0);
    CHECK(c.rsocket.key_share_max_connections == 1);
    CHECK(c.rsocket.key_wait_target == 250ms);
    CHECK(c.log.level == log_level::debug);
    CHECK(c.log.format == log_format::text);
    CHECK_FALSE(c.log.access);
    CHECK(c.shutdown.drain_timeout == 0ms);
    CHECK(c.http.header_limit == 8192);
    CHECK(c.http.body_limit == 2097152);
    CHECK(c.http.idle_timeout == 5min);
    CHECK(c.http.request_timeout == 500ms);
    CHECK(c.http.max_connections == 200);
    CHECK(c.http.max_pipelined == 4);
    CHECK(c.http.gzip_min_bytes == 0);
    CHECK(c.routes_api.username == "ops");
    CHECK(c.routes_api.password == "routes-pw");
    CHECK(c.routes_api.enabled());
}

TEST_CASE("empty strings switch optional listeners off", "[config]") {
    const gateway_config c = load_config(
        "bosh: { ingest_listen: \"\" }\nrsocket: { tcp_listen: '', websocket_listen: \"\" }\n");
    CHECK_FALSE(c.bosh.ingest_listen.has_value());
    CHECK_FALSE(c.rsocket.tcp_listen.has_value());
    CHECK_FALSE(c.rsocket.websocket_listen.has_value());
}

TEST_CASE("a given list replaces the default list", "[config]") {
    CHECK(load_config("scrape: { forward_headers: [] }").scrape.forward_headers.empty());
    CHECK(load_config("scrape: { forward_headers: [Cookie] }").scrape.forward_headers ==
          std::vector<std::string>{"Cookie"});
}

TEST_CASE("config_error carries the path and the reason", "[config]") {
    try {
        load_config("scrape:\n  timout: 5s\n");
        FAIL("no exception");
    } catch (const config_error& e) {
        CHECK(e.path() == "scrape.timout");
        CHECK(e.reason() == "unknown key");
        CHECK(std::string(e.what()) == "scrape.timout: unknown key");
        const std::runtime_error& base = e;
        CHECK(std::string(base.what()) == "scrape.timout: unknown key");
    }
}

TEST_CASE("unknown and duplicate keys are errors with their full path", "[config]") {
    CHECK(error_of("lisen: 127.0.0.1:1") == "lisen: unknown key");
    CHECK(error_of("scrape: { timout: 5s }") == "scrape.timout: unknown key");
    CHECK(error_of("bosh: { auth: basic }") == "bosh.auth: 'basic' is not one of check_token, jwt");
    CHECK(error_of("bosh:\n  ingest_listen: 127.0.0.1:25594\n  grpc:\n    listen: "
                   "0.0.0.0:25595\n    tls: { cert_file: c.pem, key_file: k.pem }\n") ==
          "bosh.uaa.url: required when bosh.grpc.listen is set (subscribers are authorized by "
          "UAA)");
    CHECK(error_of("bosh: { queue_size: 0 }").starts_with("bosh.queue_size: "));
    CHECK(error_of("nats: { tls: { verify: true } }") == "nats.tls.verify: unknown key");
    CHECK(error_of("bosh: { uaa: { secret: x } }") == "bosh.uaa.secret: unknown key");
    CHECK(error_of("routes: { static: [ { uri: a, host: b, port: 1, app_id: x } ] }") ==
          "routes.static[0].app_id: unknown key");
    CHECK(error_of("log: { level: info, level: debug }") == "log.level: duplicate key");
    CHECK(error_of("routes: { static: [ { uri: a, host: b, port: 1, tags: { a: 1, a: 2 } } ] }") ==
          "routes.static[0].tags.a: duplicate key");
    CHECK(error_of("? [a, b]\n: 1\n") == "config: keys must be strings");
}

TEST_CASE("bad durations are rejected with the expected forms", "[config]") {
    CHECK(error_of("scrape: { timeout: 10x }") ==
          R"(scrape.timeout: invalid duration "10x" (expected e.g. 500ms, 10s, 5m, 1h))");
    CHECK(error_of("push: { ttl: 10 }") ==
          R"(push.ttl: invalid duration "10" (expected e.g. 500ms, 10s, 5m, 1h))");
    CHECK(error_of("http: { idle_timeout: \"\" }") ==
          R"(http.idle_timeout: invalid duration "" (expected e.g. 500ms, 10s, 5m, 1h))");
    CHECK(error_of("shutdown: { drain_timeout: -5s }") ==
          "shutdown.drain_timeout: must not be negative, got -5s");
    CHECK(error_of("scrape: { timeout: 0s }") == "scrape.timeout: must be greater than 0, got 0s");
    CHECK(error_of("routes: { stale_threshold: 0 }") ==
          "routes.stale_threshold: must be greater than 0, got 0");
    CHECK(error_of("http: { request_timeout: [1s] }") ==
          "http.request_timeout: expected a duration such as 10s");
}

TEST_CASE("bad addresses are rejected", "[config]") {
    CHECK(error_of("listen: 8085") == R"(listen: invalid address "8085" (expected host:port))");
    CHECK(error_of("listen: \"\"") == R"(listen: invalid address "" (expected host:port))");
    CHECK(error_of("health_listen: ::1:8080") ==
          R"(health_listen: invalid address "::1:8080" (expected host:port))");
    CHECK(error_of("bosh: { ingest_listen: \"localhost:99999\" }") ==
          R"(bosh.ingest_listen: invalid address "localhost:99999" (expected host:port))");
    CHECK(error_of("rsocket: { websocket_listen: nowhere }") ==
          R"(rsocket.websocket_listen: invalid address "nowhere" (expected host:port))");
    CHECK(error_of("listen: 127.0.0.1:9000\nhealth_listen: 127.0.0.1:9000") ==
          "health_listen: must differ from listen (127.0.0.1:9000)");
    CHECK(error_of("listen: { host: a }") == "listen: expected an address such as 127.0.0.1:8085");
}

TEST_CASE("wrong types are rejected", "[config]") {
    CHECK(error_of("- a\n- b\n") == "config: expected a mapping");
    CHECK(error_of("scrape: 5") == "scrape: expected a mapping");
    CHECK(error_of("nats: { servers: nats://a:4222 }") == "nats.servers: expected a sequence");
    CHECK(error_of("nats: { servers: [ [a] ] }") == "nats.servers[0]: expected a string");
    CHECK(error_of("nats: { servers: [ a, \"\" ] }") == "nats.servers[1]: must not be empty");
    CHECK(error_of("nats: { user: { name: x } }") == "nats.user: expected a string");
    CHECK(error_of("push: { enabled: maybe }") ==
          R"(push.enabled: expected true or false, got "maybe")");
    CHECK(error_of("push: { enabled: [true] }") == "push.enabled: expected true or false");
    CHECK(error_of("scrape: { max_concurrency: lots }") ==
          R"(scrape.max_concurrency: expected an integer, got "lots")");
    CHECK(error_of("scrape: { max_concurrency: 1.5 }") ==
          R"(scrape.max_concurrency: expected an integer, got "1.5")");
    CHECK(error_of("routes: { static: {} }") == "routes.static: expected a sequence");
    CHECK(error_of("routes: { static: [ x ] }") == "routes.static[0]: expected a mapping");
    CHECK(error_of("routes: { static: [ { uri: a, host: b, port: 1, tags: [x] } ] }") ==
          "routes.static[0].tags: expected a mapping");
    CHECK(error_of("routes: { static: [ { uri: a, host: b, port: 1, tags: { a: [x] } } ] }") ==
          "routes.static[0].tags.a: expected a string");
}

TEST_CASE("negative and out-of-range numbers are rejected", "[config]") {
    CHECK(error_of("threads: -1") == "threads: must not be negative, got -1");
    CHECK(error_of("threads: 1025") == "threads: must be between 0 and 1024, got 1025");
    CHECK(error_of("threads: 99999999999999999999999") ==
          "threads: must be between 0 and 1024, got 99999999999999999999999");
    CHECK(load_config("threads: 1024").threads == 1024);
    CHECK(error_of("scrape: { max_concurrency: 0 }") ==
          "scrape.max_concurrency: must be between 1 and 1000000, got 0");
    CHECK(error_of("push: { max_body_bytes: -1048576 }") ==
          "push.max_body_bytes: must not be negative, got -1048576");
    CHECK(error_of("http: { max_pipelined: 0 }") ==
          "http.max_pipelined: must be between 1 and 1024, got 0");
    CHECK(error_of("http: { header_limit: 100 }") ==
          "http.header_limit: must be between 1024 and 1048576, got 100");
    CHECK(error_of("http: { max_connections: -3 }") ==
          "http.max_connections: must not be negative, got -3");
    CHECK(error_of("routes: { static: [ { uri: a, host: b, port: 70000 } ] }") ==
          "routes.static[0].port: must be between 0 and 65535, got 70000");
}

TEST_CASE("log level and format values are checked", "[config]") {
    CHECK(error_of("log: { level: verbose }") ==
          R"(log.level: invalid value "verbose" (expected debug, info, warn or error))");
    CHECK(error_of("log: { format: xml }") ==
          R"(log.format: invalid value "xml" (expected json or text))");
    CHECK(load_config("log: { level: warn }").log.level == log_level::warn);
    CHECK(load_config("log: { level: error, format: json }").log.level == log_level::error);
}

TEST_CASE("settings that only make sense together are checked", "[config]") {
    CHECK(error_of("tls: { cert_file: /c.pem }") ==
          "tls.key_file: required when tls.cert_file is set");
    CHECK(error_of("tls: { key_file: /k.pem }") ==
          "tls.cert_file: required when tls.key_file is set");
    CHECK(error_of("scrape: { tls: { cert_file: /c.pem } }") ==
          "scrape.tls.key_file: required when scrape.tls.cert_file is set");
    CHECK(error_of("nats: { tls: { key_file: /k.pem } }") ==
          "nats.tls.cert_file: required when nats.tls.key_file is set");
    CHECK(error_of("routes_api: { username: ops }") ==
          "routes_api.password: required when routes_api.username is set");
    CHECK(error_of("routes_api: { password: pw }") ==
          "routes_api.username: required when routes_api.password is set");
    CHECK(error_of("broker: { enabled: true, password: pw }") ==
          "broker.username: required when broker.enabled is true");
    CHECK(error_of("broker: { enabled: true, username: u }") ==
          "broker.password: required when broker.enabled is true");
    CHECK(error_of("bosh: { uaa: { url: \"https://uaa\", client_secret: s } }") ==
          "bosh.uaa.client_id: required when bosh.uaa.url is set");
    CHECK(error_of("bosh: { uaa: { url: \"https://uaa\", client_id: c } }") ==
          "bosh.uaa.client_secret: required when bosh.uaa.url is set");
    CHECK(error_of("routes: { static: [ { host: b, port: 1 } ] }") ==
          "routes.static[0].uri: required");
    CHECK(error_of("routes: { static: [ { uri: a, port: 1 } ] }") ==
          "routes.static[0].host: required");
    CHECK(error_of("routes: { static: [ {uri: a, host: b, port: 1}, {uri: a, host: b} ] }") ==
          "routes.static[1].port: port or tls_port required");
    CHECK(error_of("scrape: { forward_headers: [Authorization, \"X Bad\"] }") ==
          R"(scrape.forward_headers[1]: invalid header name "X Bad")");
}

TEST_CASE("YAML syntax errors report line and column", "[config]") {
    const std::string message = error_of("listen: 127.0.0.1:1\nscrape: { timeout: 5s\n");
    CHECK(message.starts_with("3:1: "));
    CHECK(error_of("a: 1\n---\nb: 2\n") == "config: expected one YAML document, got 2");
}

TEST_CASE("load_config_file reads a file and names it in read errors", "[config]") {
    char dir_template[] = "/tmp/mgw-config-test-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    const std::string path = dir + "/gateway.yml";
    {
        std::ofstream out(path);
        out << "listen: 127.0.0.1:9999\nscrape: { timeout: 3s }\n";
    }
    const gateway_config c = mgw::gateway::load_config_file(path);
    CHECK(c.listen == listen_address{"127.0.0.1", 9999});
    CHECK(c.scrape.timeout == 3s);
    CHECK(c.health_listen == listen_address{"127.0.0.1", 8080});

    {
        std::ofstream out(path);
        out << "listen: [\n";
    }
    try {
        mgw::gateway::load_config_file(path);
        FAIL("no exception");
    } catch (const config_error& e) {
        CHECK(e.path().starts_with(path + ":"));
    }

    std::remove(path.c_str());
    try {
        mgw::gateway::load_config_file(path);
        FAIL("no exception");
    } catch (const config_error& e) {
        CHECK(std::string(e.what()) == path + ": cannot read: No such file or directory");
    }
    ::rmdir(dir.c_str());
}

TEST_CASE("config/gateway.yml shows exactly the embedded defaults") {
    const gateway_config file =
        mgw::gateway::load_config_file(MGW_SOURCE_DIR "/config/gateway.yml");
    const gateway_config defaults = mgw::gateway::default_config();
    CHECK(file.listen == defaults.listen);
    CHECK(file.health_listen == defaults.health_listen);
    CHECK(file.tls.cert_file == defaults.tls.cert_file);
    CHECK(file.threads == defaults.threads);
    CHECK(file.http.header_limit == defaults.http.header_limit);
    CHECK(file.http.body_limit == defaults.http.body_limit);
    CHECK(file.http.idle_timeout == defaults.http.idle_timeout);
    CHECK(file.http.request_timeout == defaults.http.request_timeout);
    CHECK(file.http.max_connections == defaults.http.max_connections);
    CHECK(file.http.max_pipelined == defaults.http.max_pipelined);
    CHECK(file.http.gzip_min_bytes == defaults.http.gzip_min_bytes);
    CHECK(file.nats.servers == defaults.nats.servers);
    CHECK(file.nats.tls.skip_verify == defaults.nats.tls.skip_verify);
    CHECK(file.routes.stale_threshold == defaults.routes.stale_threshold);
    CHECK(file.routes.static_routes.empty());
    CHECK(file.routes_api.username == defaults.routes_api.username);
    CHECK(file.scrape.timeout == defaults.scrape.timeout);
    CHECK(file.scrape.max_concurrency == defaults.scrape.max_concurrency);
    CHECK(file.scrape.forward_headers == defaults.scrape.forward_headers);
    CHECK(file.scrape.max_body_bytes == defaults.scrape.max_body_bytes);
    CHECK(file.scrape.label_collisions == defaults.scrape.label_collisions);
    CHECK(file.log.level == defaults.log.level);
    CHECK(file.log.format == defaults.log.format);
    CHECK(file.log.access == defaults.log.access);
    CHECK(file.shutdown.drain_timeout == defaults.shutdown.drain_timeout);
    CHECK(file.push.enabled == defaults.push.enabled);
    CHECK(file.limits.memory == defaults.limits.memory);
    CHECK(file.bosh.ingest_listen == defaults.bosh.ingest_listen);
    CHECK(file.bosh.max_line_bytes == defaults.bosh.max_line_bytes);
    CHECK(file.bosh.queue_size == defaults.bosh.queue_size);
    CHECK(file.bosh.max_subscriptions == defaults.bosh.max_subscriptions);
    CHECK(file.bosh.subscription_idle_expiry == defaults.bosh.subscription_idle_expiry);
    CHECK(file.bosh.heartbeat_staleness == defaults.bosh.heartbeat_staleness);
    CHECK(file.bosh.stream_keepalive == defaults.bosh.stream_keepalive);
    CHECK(file.rsocket.trust_declared_app_identity == defaults.rsocket.trust_declared_app_identity);
    CHECK(file.rsocket.setup_timeout == defaults.rsocket.setup_timeout);
    CHECK(file.rsocket.frame_timeout == defaults.rsocket.frame_timeout);
    CHECK(file.rsocket.max_connection_bytes == defaults.rsocket.max_connection_bytes);
    CHECK(file.rsocket.max_held_push_bytes == defaults.rsocket.max_held_push_bytes);
    CHECK(file.bosh.auth == defaults.bosh.auth);
    CHECK(file.bosh.uaa.url == defaults.bosh.uaa.url);
    CHECK(file.bosh.uaa.ca_file == defaults.bosh.uaa.ca_file);
    CHECK(file.bosh.uaa.timeout == defaults.bosh.uaa.timeout);
    CHECK(file.bosh.uaa.issuer == defaults.bosh.uaa.issuer);
    CHECK(file.bosh.ingest_allow_remote == defaults.bosh.ingest_allow_remote);
    CHECK(file.bosh.ingest_max_connections == defaults.bosh.ingest_max_connections);
    CHECK(file.bosh.ingest_idle_timeout == defaults.bosh.ingest_idle_timeout);
    CHECK(file.bosh.queue_bytes == defaults.bosh.queue_bytes);
    CHECK(file.bosh.labelled_subscriptions == defaults.bosh.labelled_subscriptions);
    CHECK(file.bosh.gauges_max_bytes == defaults.bosh.gauges_max_bytes);
    CHECK(file.bosh.metrics_auth == defaults.bosh.metrics_auth);
    CHECK(file.push.ttl == defaults.push.ttl);
    CHECK(file.push.max_body_bytes == defaults.push.max_body_bytes);
    CHECK(file.push.rate_window == defaults.push.rate_window);
    CHECK(file.broker.enabled == defaults.broker.enabled);
    CHECK(file.broker.database == defaults.broker.database);
    CHECK(file.broker.external_url == defaults.broker.external_url);
    CHECK(file.broker.promfetcher.service_id == defaults.broker.promfetcher.service_id);
    CHECK(file.broker.promfetcher.plan_id == defaults.broker.promfetcher.plan_id);
    CHECK(file.broker.metrics_forwarder.service_id == defaults.broker.metrics_forwarder.service_id);
    CHECK(file.broker.max_instances == defaults.broker.max_instances);
    CHECK(file.broker.max_bindings == defaults.broker.max_bindings);
    CHECK(file.cluster.enabled == defaults.cluster.enabled);
    CHECK(file.cluster.name == defaults.cluster.name);
    CHECK(file.cluster.node_id == defaults.cluster.node_id);
    CHECK(file.cluster.heartbeat == defaults.cluster.heartbeat);
    CHECK(file.cluster.gather.timeout == defaults.cluster.gather.timeout);
    CHECK(file.cluster.gather.chunk_bytes == defaults.cluster.gather.chunk_bytes);
    CHECK(file.cluster.rate_limit.sync == defaults.cluster.rate_limit.sync);
    CHECK(file.cluster.bindings.store == defaults.cluster.bindings.store);
    CHECK(file.cluster.bindings.replicas == defaults.cluster.bindings.replicas);
    REQUIRE(file.broker.metrics_forwarder.plans.size() ==
            defaults.broker.metrics_forwarder.plans.size());
    for (std::size_t i = 0; i < defaults.broker.metrics_forwarder.plans.size(); ++i) {
        const auto& a = file.broker.metrics_forwarder.plans[i];
        const auto& b = defaults.broker.metrics_forwarder.plans[i];
        CHECK(a.name == b.name);
        CHECK(a.id == b.id);
        CHECK(a.description == b.description);
        CHECK(a.requests_per_minute == b.requests_per_minute);
        CHECK(a.metrics_per_minute == b.metrics_per_minute);
    }
    CHECK_FALSE(file.bosh.ingest_listen.has_value());
    CHECK_FALSE(file.rsocket.tcp_listen.has_value());
    CHECK_FALSE(file.rsocket.websocket_listen.has_value());
}

TEST_CASE("scrape.label_collisions accepts exported and overwrite only") {
    CHECK(mgw::gateway::load_config("scrape: { label_collisions: overwrite }")
              .scrape.label_collisions == mgw::exposition::collision_policy::overwrite);
    CHECK(mgw::gateway::load_config("scrape: { label_collisions: exported }")
              .scrape.label_collisions == mgw::exposition::collision_policy::rename_exported);
    CHECK_THROWS_WITH(mgw::gateway::load_config("scrape: { label_collisions: merge }"),
                      "scrape.label_collisions: invalid value \"merge\" (expected exported or "
                      "overwrite)");
}

TEST_CASE("broker catalog keys: plans with limits, ids checked, external_url normalised") {
    const gateway_config c = mgw::gateway::load_config(R"(
broker:
  external_url: https://metrics.example.com/
  promfetcher: { service_id: svc-p, plan_id: plan-p }
  metrics_forwarder:
    service_id: svc-f
    plans:
      - { name: small, id: plan-s, requests_per_minute: 60, metrics_per_minute: 1000 }
      - { name: unlimited, id: plan-u, requests_per_minute: unlimited }
)");
    CHECK(c.broker.external_url == "https://metrics.example.com");
    CHECK(c.broker.promfetcher.service_id == "svc-p");
    CHECK(c.broker.promfetcher.plan_id == "plan-p");
    CHECK(c.broker.metrics_forwarder.service_id == "svc-f");
    REQUIRE(c.broker.metrics_forwarder.plans.size() == 2);
    const auto& small = c.broker.metrics_forwarder.plans[0];
    CHECK(small.name == "small");
    CHECK(small.id == "plan-s");
    CHECK(small.description == "Push custom metrics (small plan)");
    CHECK(small.requests_per_minute == 60u);
    CHECK(small.metrics_per_minute == 1000u);
    CHECK_FALSE(c.broker.metrics_forwarder.plans[1].requests_per_minute.has_value());
    CHECK_FALSE(c.broker.metrics_forwarder.plans[1].metrics_per_minute.has_value());

    const auto defaults = mgw::gateway::default_config().broker;
    REQUIRE(defaults.metrics_forwarder.plans.size() == 1);
    CHECK(defaults.metrics_forwarder.plans[0].name == "unlimited");
    CHECK_FALSE(defaults.metrics_forwarder.plans[0].requests_per_minute.has_value());
}

TEST_CASE("broker catalog errors name the key") {
    const auto error_of = [](const char* yaml) {
        try {
            mgw::gateway::load_config(yaml);
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of("broker: { external_url: metrics.example.com }") ==
          R"(broker.external_url: expected an http:// or https:// URL, got "metrics.example.com")");
    CHECK(error_of("broker: { metrics_forwarder: { plans: [] } }") ==
          "broker.metrics_forwarder.plans: at least one plan required");
    CHECK(error_of("broker: { metrics_forwarder: { plans: [ { name: a } ] } }") ==
          "broker.metrics_forwarder.plans[0].id: required");
    CHECK(error_of("broker: { metrics_forwarder: { plans: [ { name: a, id: x, "
                   "requests_per_minute: 0 } ] } }") ==
          "broker.metrics_forwarder.plans[0].requests_per_minute: must be between 1 and "
          "4294967295, got 0");
    CHECK(
        error_of("broker: { metrics_forwarder: { plans: [ { name: a, id: x, "
                 "metrics_per_minute: lots } ] } }") ==
        R"(broker.metrics_forwarder.plans[0].metrics_per_minute: expected an integer, got "lots")");
    CHECK(error_of("broker: { metrics_forwarder: { plans: [ { name: a, id: x }, "
                   "{ name: a, id: y } ] } }") ==
          R"(broker.metrics_forwarder.plans[1].name: plan name "a" used twice)");
    CHECK(error_of("broker: { promfetcher: { plan_id: same }, metrics_forwarder: { plans: [ "
                   "{ name: a, id: same } ] } }") ==
          R"(broker.metrics_forwarder.plans[0].id: id "same" used twice in the catalog)");
    CHECK(
        error_of("broker: { promfetcher: { service_id: 'a b' } }") ==
        R"(broker.promfetcher.service_id: invalid id "a b" (letters, digits, '-', '_', '.'; at most 255))");
    CHECK(error_of("broker: { metrics_forwarder: { plans: [ { name: a, id: x, rate: 1 } ] } }") ==
          "broker.metrics_forwarder.plans[0].rate: unknown key");
}

TEST_CASE("limits.memory takes bytes or binary units, 0 for no ceiling, at least 64MiB") {
    CHECK(mgw::gateway::default_config().limits.memory == (std::uint64_t{2} << 30));
    CHECK(mgw::gateway::load_config("limits: {memory: 0}").limits.memory == 0);
    CHECK(mgw::gateway::load_config("limits: {memory: 536870912}").limits.memory == (512u << 20));
    CHECK(mgw::gateway::load_config("limits: {memory: 512MiB}").limits.memory == (512u << 20));
    CHECK(mgw::gateway::load_config("limits: {memory: 3GiB}").limits.memory ==
          (std::uint64_t{3} << 30));
    CHECK(mgw::gateway::load_config("limits: {memory: 65536KiB}").limits.memory == (64u << 20));
    const auto error_of = [](const std::string& yaml) {
        try {
            mgw::gateway::load_config(yaml);
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of("limits: {memory: 2GB}") ==
          "limits.memory: expected bytes (an integer, or with KiB, MiB or GiB), got \"2GB\"");
    CHECK(error_of("limits: {memory: -1}") ==
          "limits.memory: expected bytes (an integer, or with KiB, MiB or GiB), got \"-1\"");
    CHECK(error_of("limits: {memory: MiB}") ==
          "limits.memory: expected bytes (an integer, or with KiB, MiB or GiB), got \"MiB\"");
    CHECK(error_of("limits: {memory: 1MiB}") ==
          "limits.memory: must be 0 (no ceiling) or at least 64MiB, got 1048576");
    CHECK(error_of("limits: {memory: 2000000GiB}") ==
          "limits.memory: must be between 0 and 1125899906842624 bytes, got 2000000GiB");
    CHECK(error_of("limits: {cpu: 1}").starts_with("limits.cpu: "));
}

TEST_CASE("bosh.grpc: off by default, TLS and the HM ingest required when on") {
    const gateway_config defaults = load_config("");
    CHECK_FALSE(defaults.bosh.grpc.listen.has_value());
    CHECK(defaults.bosh.grpc.max_concurrent_streams == 100);
    CHECK(defaults.bosh.grpc.ping_min_time == std::chrono::seconds(5));
    const std::string base =
        "bosh:\n  ingest_listen: 127.0.0.1:25594\n"
        "  uaa: { url: \"https://uaa\", client_id: gw, client_secret: s }\n";
    const gateway_config c = load_config(
        base +
        "  grpc:\n    listen: 0.0.0.0:25595\n    tls: { cert_file: c.pem, key_file: k.pem }\n"
        "    max_connections: 10\n    max_concurrent_streams: 5\n    send_queue_bytes: 65536\n"
        "    keepalive_time: 0s\n    keepalive_timeout: 5s\n    ping_min_time: 10s\n");
    CHECK(c.bosh.grpc.listen == listen_address{"0.0.0.0", 25595});
    CHECK(c.bosh.grpc.tls.cert_file == "c.pem");
    CHECK(c.bosh.grpc.max_connections == 10);
    CHECK(c.bosh.grpc.max_concurrent_streams == 5);
    CHECK(c.bosh.grpc.send_queue_bytes == 65536);
    CHECK(c.bosh.grpc.keepalive_time.count() == 0);
    CHECK(c.bosh.grpc.keepalive_timeout == std::chrono::seconds(5));
    CHECK(c.bosh.grpc.ping_min_time == std::chrono::seconds(10));
    CHECK(error_of(base + "  grpc: { listen: 0.0.0.0:25595 }\n").find("bosh.grpc.tls") !=
          std::string::npos);
    CHECK(error_of("bosh:\n  grpc:\n    listen: 0.0.0.0:25595\n"
                   "    tls: { cert_file: c.pem, key_file: k.pem }\n")
              .find("bosh.grpc.listen: needs bosh.ingest_listen") != std::string::npos);
    CHECK(error_of(base + "  grpc: { listen: \"\", color: red }\n").find("color") !=
          std::string::npos);
}

TEST_CASE("bosh: heartbeats may be ingested without UAA unless the gRPC egress is on", "[config]") {
    // For Loggregator or open gauges only: the HTTP streams then refuse every token.
    const gateway_config c = load_config("bosh: { ingest_listen: 127.0.0.1:25594 }\n");
    CHECK(c.bosh.ingest_listen == listen_address{"127.0.0.1", 25594});
    CHECK(c.bosh.uaa.url.empty());
}

TEST_CASE("bosh: the hardening keys, their defaults and their errors", "[config]") {
    const gateway_config defaults = mgw::gateway::default_config();
    CHECK_FALSE(defaults.bosh.ingest_allow_remote);
    CHECK(defaults.bosh.ingest_max_connections == 64);
    CHECK(defaults.bosh.ingest_idle_timeout == 2min);
    CHECK(defaults.bosh.queue_bytes == 4 * 1024 * 1024);
    CHECK(defaults.bosh.labelled_subscriptions ==
          std::vector<std::string>{"bosh-system-metrics-forwarder"});
    CHECK(defaults.bosh.metrics_auth == mgw::bosh::metrics_auth::uaa);

    const std::string uaa = "  uaa: { url: https://uaa, client_id: c, client_secret: s }\n";
    const gateway_config c = load_config(
        "bosh:\n  ingest_listen: 127.0.0.1:25594\n  ingest_max_connections: 8\n"
        "  ingest_idle_timeout: 30s\n  queue_bytes: 8MiB\n  max_line_bytes: 64KiB\n"
        "  labelled_subscriptions: [a, b]\n  gauges_max_bytes: 1MiB\n  metrics_auth: none\n" +
        uaa);
    CHECK(c.bosh.ingest_max_connections == 8);
    CHECK(c.bosh.ingest_idle_timeout == 30s);
    CHECK(c.bosh.queue_bytes == 8 * 1024 * 1024);
    CHECK(c.bosh.max_line_bytes == 65536);
    CHECK(c.bosh.labelled_subscriptions == std::vector<std::string>{"a", "b"});
    CHECK(c.bosh.gauges_max_bytes == 1024 * 1024);
    CHECK(c.bosh.metrics_auth == mgw::bosh::metrics_auth::none);

    // Issue 10 item 14: every interface, or any routable address, only when allowed.
    for (const char* listen : {"\":25594\"", "0.0.0.0:25594", "10.0.0.6:25594", "director:1"}) {
        INFO(listen);
        const std::string yaml = std::string("bosh:\n  ingest_listen: ") + listen + "\n" + uaa;
        const std::string error = error_of(yaml);
        CHECK(error.starts_with("bosh.ingest_listen: "));
        CHECK(error.find("bosh.ingest_allow_remote: true") != std::string::npos);
        CHECK(error_of(yaml + "  ingest_allow_remote: true\n").empty());
    }
    CHECK(error_of("bosh:\n  ingest_listen: localhost:25594\n" + uaa).empty());
    CHECK(error_of("bosh:\n  ingest_listen: \"[::1]:25594\"\n" + uaa).empty());

    CHECK(error_of("bosh: { queue_bytes: 1000KiB, max_line_bytes: 2MiB }")
              .starts_with("bosh.queue_bytes: must be at least bosh.max_line_bytes"));
    CHECK(error_of("bosh: { labelled_subscriptions: [other] }")
              .starts_with("bosh.labelled_subscriptions[0]: "));
    CHECK(error_of("bosh: { labelled_subscriptions: [\"\"] }")
              .starts_with("bosh.labelled_subscriptions[0]: "));
    CHECK(error_of("bosh: { metrics_auth: open }") ==
          "bosh.metrics_auth: 'open' is not one of uaa, none");
    CHECK(error_of("bosh: { ingest_max_connections: 0 }")
              .starts_with("bosh.ingest_max_connections: must be between 1"));
    CHECK(error_of("bosh: { ingest_idle_timeout: 0s }")
              .starts_with("bosh.ingest_idle_timeout: must be greater than 0"));
}

TEST_CASE("the cluster section is off by default and checks its names and sizes", "[config]") {
    const gateway_config off = mgw::gateway::load_config("");
    CHECK_FALSE(off.cluster.enabled);
    CHECK(off.cluster.name == "mgw");
    CHECK(off.cluster.node_id.empty());
    CHECK(off.cluster.heartbeat == 1s);
    CHECK(off.cluster.gather.timeout == 2s);
    CHECK(off.cluster.gather.chunk_bytes == 512u * 1024u);
    CHECK(off.cluster.bindings.store == mgw::cluster::bindings_store::automatic);
    CHECK(off.cluster.bindings.replicas == 1);

    const gateway_config on = mgw::gateway::load_config(
        "nats: { servers: [127.0.0.1:4222] }\n"
        "cluster: { enabled: true, name: prod-1, node_id: gw-2.example, heartbeat: 500ms,\n"
        "           gather: { timeout: 1500ms, chunk_bytes: 64KiB },\n"
        "           bindings: { store: kv, replicas: 3 } }\n");
    CHECK(on.cluster.enabled);
    CHECK(on.cluster.name == "prod-1");
    CHECK(on.cluster.resolved_node_id() == "gw-2.example");
    CHECK(on.cluster.heartbeat == 500ms);
    CHECK(on.cluster.gather.timeout == 1500ms);
    CHECK(on.cluster.gather.chunk_bytes == 64u * 1024u);
    CHECK(on.cluster.bindings.store == mgw::cluster::bindings_store::kv);
    CHECK(on.cluster.bindings.replicas == 3);

    CHECK(error_of("cluster: { enabled: true }") ==
          "cluster.enabled: needs nats.servers: the cluster's nodes find each other over NATS");
    CHECK(error_of("cluster: { name: \"a.b\" }").starts_with("cluster.name: must be 1 to 64"));
    CHECK(error_of("cluster: { name: \"\" }").starts_with("cluster.name: "));
    CHECK(error_of("cluster: { node_id: \"gw 1\" }").starts_with("cluster.node_id: "));
    CHECK(error_of("cluster: { node_id: \"gw..1\" }").starts_with("cluster.node_id: "));
    CHECK(error_of("cluster: { node_id: \"gw.*\" }").starts_with("cluster.node_id: "));
    CHECK(error_of("cluster: { heartbeat: 10ms }") ==
          "cluster.heartbeat: must be between 100ms and 1m");
    CHECK(error_of("cluster: { gather: { chunk_bytes: 1MiB } }")
              .starts_with("cluster.gather.chunk_bytes: "));
    CHECK(error_of("cluster: { gather: { timeout: 0s } }").starts_with("cluster.gather.timeout: "));
    CHECK(error_of("cluster: { bindings: { store: sqlite } }") ==
          "cluster.bindings.store: must be auto, kv or local");
    CHECK(error_of("cluster: { bindings: { replicas: 7 } }")
              .starts_with("cluster.bindings.replicas: "));
    CHECK(mgw::gateway::load_config("cluster: { bindings: { store: local } }")
              .cluster.bindings.store == mgw::cluster::bindings_store::local);
    CHECK(error_of("cluster: { gossip: true }") == "cluster.gossip: unknown key");
}

TEST_CASE("cluster.rate_limit.sync and push.rate_window: defaults, values and bounds", "[config]") {
    const gateway_config off = mgw::gateway::load_config("");
    CHECK(off.cluster.rate_limit.sync == 100ms);
    CHECK(off.push.rate_window == 60s);
    const gateway_config on = mgw::gateway::load_config(
        "cluster: { rate_limit: { sync: 250ms } }\npush: { rate_window: 10s }\n");
    CHECK(on.cluster.rate_limit.sync == 250ms);
    CHECK(on.push.rate_window == 10s);
    CHECK(on.push.service_options().rate_window == 10s);
    CHECK(error_of("cluster: { rate_limit: { sync: 5ms } }") ==
          "cluster.rate_limit.sync: must be between 10ms and 10s");
    CHECK(error_of("cluster: { rate_limit: { every: 1s } }") ==
          "cluster.rate_limit.every: unknown key");
    CHECK(error_of("push: { rate_window: 1500ms }") ==
          "push.rate_window: must be whole seconds between 1s and 1h");
    CHECK(error_of("push: { rate_window: 2h }") ==
          "push.rate_window: must be whole seconds between 1s and 1h");
}
