// Unit tests: nats::client option validation and metrics, without any socket.
#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/nats/client.hpp>

namespace {

double value(prometheus::Registry& registry, const std::string& name) {
    for (const auto& family : registry.Collect()) {
        if (family.name == name && !family.metric.empty()) {
            const auto& m = family.metric.front();
            return family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
        }
    }
    throw std::runtime_error("metric not registered: " + name);
}

struct fixture {
    boost::asio::io_context ioc;
    mgw::core::logger log{mgw::core::log_level::error};
    prometheus::Registry registry;
};

}  // namespace

TEST_CASE("a client registers its metrics at zero before connecting") {
    fixture f;
    mgw::nats::client c(boost::asio::make_strand(f.ioc), {}, f.log, f.registry);
    CHECK(value(f.registry, "mgw_nats_connected") == 0);
    CHECK(value(f.registry, "mgw_nats_disconnects_total") == 0);
    CHECK(value(f.registry, "mgw_nats_reconnects_total") == 0);
    CHECK(value(f.registry, "mgw_nats_bad_messages_total") == 0);
    CHECK(value(f.registry, "mgw_nats_dropped_messages_total") == 0);
    c.count_bad_message();
    c.count_bad_message();
    CHECK(value(f.registry, "mgw_nats_bad_messages_total") == 2);
    CHECK_FALSE(c.connected());
    CHECK_FALSE(c.publish("router.start", "{}"));
    // Request/reply (the cluster's gathers) likewise needs a connection.
    CHECK_FALSE(c.publish("mgw.test.q.app", "{}", "_INBOX.mgw.test.n1.1"));
    CHECK(c.max_payload() == 0);
}

TEST_CASE("subscriptions get their own message counter") {
    fixture f;
    mgw::nats::client c(boost::asio::make_strand(f.ioc), {}, f.log, f.registry);
    c.subscribe("router.register", [](mgw::nats::message) {});
    c.subscribe("router.greet", [](mgw::nats::message) {});
    std::vector<std::string> subjects;
    for (const auto& family : f.registry.Collect()) {
        if (family.name == "mgw_nats_messages_total") {
            for (const auto& m : family.metric) {
                REQUIRE(m.label.size() == 1);
                CHECK(m.label[0].name == "subject");
                subjects.push_back(m.label[0].value);
            }
        }
    }
    std::sort(subjects.begin(), subjects.end());
    CHECK(subjects == std::vector<std::string>{"router.greet", "router.register"});
}

TEST_CASE("start() rejects a configuration without servers") {
    fixture f;
    mgw::nats::client c(boost::asio::make_strand(f.ioc), {}, f.log, f.registry);
    CHECK_THROWS_AS(c.start(), std::invalid_argument);
}

TEST_CASE("start() rejects unreadable TLS files before dialing") {
    fixture f;
    mgw::nats::client_options options;
    options.servers = {"tls://127.0.0.1:1"};
    options.tls.enabled = true;
    options.tls.ca_file = "/nonexistent/ca.pem";
    mgw::nats::client c(boost::asio::make_strand(f.ioc), options, f.log, f.registry);
    CHECK_THROWS_AS(c.start(), std::invalid_argument);

    mgw::nats::client_options key_options = options;
    key_options.tls.ca_file.clear();
    key_options.tls.cert_file = "/nonexistent/cert.pem";
    key_options.tls.key_file = "/nonexistent/key.pem";
    mgw::nats::client k(boost::asio::make_strand(f.ioc), key_options, f.log, f.registry);
    CHECK_THROWS_AS(k.start(), std::invalid_argument);
}

TEST_CASE("a queue subscription needs a connection object, unknown ids unsubscribe harmlessly") {
    fixture f;
    mgw::nats::client c(boost::asio::make_strand(f.ioc), {}, f.log, f.registry);
    // Before start() there is no connection to subscribe on: 0 tells the caller to try later.
    CHECK(c.queue_subscribe("mgw.test.hm.ev", "hm.0123456789abcdef", [](mgw::nats::message) {}) ==
          0);
    c.unsubscribe(0);
    c.unsubscribe(42);
    CHECK_FALSE(c.connected());
}
