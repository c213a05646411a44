// Integration tests: route_subscriber + nats::client against a real nats-server on loopback.
// The test plays route-emitter with a second, plain nats.c connection.
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <nats/nats.h>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>
#include <mgw/routes/route_subscriber.hpp>
#include <mgw/routes/route_table.hpp>

#include "support/nats_server.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using mgw::integration::free_port;
using mgw::integration::nats_server;
using mgw::integration::wait_until;

namespace {

// The emitter side: a plain nats.c connection on nats.c's own threads.
class emitter {
  public:
    explicit emitter(const std::string& url) {
        if (natsConnection_ConnectTo(&nc_, url.c_str()) != NATS_OK) {
            throw std::runtime_error("emitter cannot connect");
        }
        if (natsConnection_SubscribeSync(&starts_, nc_, "router.start") != NATS_OK) {
            throw std::runtime_error("emitter cannot subscribe router.start");
        }
        natsConnection_Flush(nc_);
    }
    ~emitter() {
        natsSubscription_Destroy(starts_);
        natsConnection_Destroy(nc_);
    }

    void publish(const std::string& subject, const std::string& payload) {
        REQUIRE(natsConnection_PublishString(nc_, subject.c_str(), payload.c_str()) == NATS_OK);
        REQUIRE(natsConnection_Flush(nc_) == NATS_OK);
    }

    // The next router.start payload, or "" after the timeout.
    std::string next_start(std::chrono::milliseconds timeout) {
        natsMsg* msg = nullptr;
        if (natsSubscription_NextMsg(&msg, starts_, timeout.count()) != NATS_OK) {
            return {};
        }
        std::string data(natsMsg_GetData(msg),
                         static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        return data;
    }

    std::string greet() {
        natsMsg* reply = nullptr;
        if (natsConnection_RequestString(&reply, nc_, "router.greet", "", 3000) != NATS_OK) {
            return {};
        }
        std::string data(natsMsg_GetData(reply),
                         static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
        natsMsg_Destroy(reply);
        return data;
    }

    natsConnection* connection() { return nc_; }

  private:
    natsConnection* nc_ = nullptr;
    natsSubscription* starts_ = nullptr;
};

std::string register_payload(const std::string& uri, int port, const std::string& app_id,
                             const std::string& app_name, int stale_threshold = 0,
                             int tls_port = 0) {
    boost::json::object m{
        {"host", "127.0.0.1"},
        {"port", port},
        {"uris", boost::json::array{boost::json::value(uri)}},
        {"app", app_id},
        {"private_instance_id", "inst-" + std::to_string(port)},
        {"private_instance_index", "0"},
        {"tags", boost::json::object{{"app_id", app_id},
                                     {"app_name", app_name},
                                     {"space_name", "dev"},
                                     {"organization_name", "acme"},
                                     {"process_type", "web"},
                                     {"instance_id", "0"},
                                     {"component", "route-emitter"}}},
    };
    if (stale_threshold > 0) {
        m["stale_threshold_in_seconds"] = stale_threshold;
    }
    if (tls_port > 0) {
        m["tls_port"] = tls_port;
    }
    return boost::json::serialize(m);
}

double metric(prometheus::Registry& registry, const std::string& name) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) {
            continue;
        }
        for (const auto& m : family.metric) {
            total += family.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
        }
    }
    return total;
}

// The gateway side: io_context on its own thread, one strand, the client and the subscriber.
class gateway {
  public:
    explicit gateway(const std::string& url)
        : strand_(asio::make_strand(ioc_)),
          guard_(ioc_.get_executor()),
          log_(mgw::core::log_level::info),
          table_(mgw::routes::route_table_options{30s}) {
        mgw::nats::client_options nats_options;
        nats_options.servers = {url};
        nats_options.reconnect_wait = 200ms;
        nats_options.reconnect_jitter = 50ms;
        client_ = std::make_unique<mgw::nats::client>(strand_, nats_options, log_, registry_);
        mgw::routes::subscriber_options options;
        options.minimum_register_interval = 20s;
        options.prune_interval = 200ms;
        options.publish_interval = 50ms;
        options.hosts = {"127.0.0.1"};
        subscriber_ = std::make_unique<mgw::routes::route_subscriber>(
            strand_, table_, *client_, mgw::routes::route_table_options{30s}, options, log_,
            registry_);
        thread_ = std::thread([this] { ioc_.run(); });
        on_strand([this] { subscriber_->start(); });
    }

    ~gateway() {
        on_strand([this] { subscriber_->stop(); });
        on_strand([] {});  // the client's deferred destroy was posted before this
        guard_.reset();
        ioc_.stop();
        thread_.join();
    }

    void on_strand(std::function<void()> f) {
        std::promise<void> done;
        asio::post(strand_, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    std::size_t resolve(const std::string& id) { return table_.snapshot()->resolve(id).size(); }
    double metric(const std::string& name) { return ::metric(registry_, name); }
    const std::string& payload() const { return subscriber_->start_payload(); }

  private:
    asio::io_context ioc_;
    asio::strand<asio::io_context::executor_type> strand_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    mgw::core::logger log_;
    prometheus::Registry registry_;
    mgw::routes::route_table table_;
    std::unique_ptr<mgw::nats::client> client_;
    std::unique_ptr<mgw::routes::route_subscriber> subscriber_;
    std::thread thread_;
};

const std::string app_a = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
const std::string app_b = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";

}  // namespace

TEST_CASE("routes arrive, leave and expire over NATS and greet and start are answered") {
    const int port = free_port();
    nats_server server(port);
    emitter pub(server.url());
    gateway gw(server.url());

    // router.start on connect, with a usable interval.
    const std::string start = pub.next_start(10s);
    REQUIRE_FALSE(start.empty());
    CHECK(start == gw.payload());
    const auto start_doc = boost::json::parse(start).as_object();
    CHECK(start_doc.at("minimumRegisterIntervalInSeconds").as_int64() == 20);
    CHECK(start_doc.at("pruneThresholdInSeconds").as_int64() == 30);
    CHECK(wait_until([&] { return gw.metric("mgw_nats_connected") == 1; }, 5s));

    // router.greet gets the same payload on the reply subject.
    const std::string greeting = pub.greet();
    REQUIRE_FALSE(greeting.empty());
    CHECK(
        boost::json::parse(greeting).as_object().at("minimumRegisterIntervalInSeconds").as_int64() >
        0);
    CHECK(greeting == gw.payload());

    pub.publish("router.register", register_payload("app-a.example.com", 61001, app_a, "app-a"));
    REQUIRE(wait_until([&] { return gw.resolve("acme/dev/app-a") == 1; }, 5s));
    CHECK(gw.resolve(app_a) == 1);
    CHECK(gw.resolve("APP-A.example.com/") == 1);
    CHECK(gw.metric("mgw_routes") == 1);
    CHECK(gw.metric("mgw_routes_registers_total") == 1);
    CHECK(gw.metric("mgw_nats_messages_total") >= 2);  // greet + register

    pub.publish("router.register", "{not json");
    pub.publish("router.register", R"({"host":"127.0.0.1","port":"80"})");
    CHECK(wait_until([&] { return gw.metric("mgw_nats_bad_messages_total") == 2; }, 5s));

    pub.publish("router.unregister", register_payload("app-a.example.com", 61001, app_a, "app-a"));
    REQUIRE(wait_until([&] { return gw.resolve(app_a) == 0; }, 5s));
    CHECK(gw.metric("mgw_routes_unregisters_total") == 1);
    CHECK(gw.metric("mgw_routes") == 0);

    // A 1 s threshold expires without re-registration; a TLS endpoint with the same threshold
    // stays.
    pub.publish("router.register", register_payload("stale.example.com", 61002, app_b, "app-b", 1));
    pub.publish("router.register",
                register_payload("tls.example.com", 61003, app_b, "app-b", 1, 61004));
    REQUIRE(wait_until([&] { return gw.resolve("stale.example.com") == 1; }, 5s));
    REQUIRE(wait_until([&] { return gw.resolve("tls.example.com") == 1; }, 5s));
    CHECK(wait_until([&] { return gw.resolve("stale.example.com") == 0; }, 5s));
    CHECK(gw.metric("mgw_routes_pruned_total") == 1);
    std::this_thread::sleep_for(1500ms);
    CHECK(gw.resolve("tls.example.com") == 1);
}

TEST_CASE("the subscriber survives a nats-server restart and re-learns routes") {
    const int port = free_port();
    nats_server server(port);
    auto pub = std::make_unique<emitter>(server.url());
    gateway gw(server.url());
    REQUIRE_FALSE(pub->next_start(10s).empty());

    // 1 s threshold: only the pruning pause keeps it through the outage below.
    pub->publish("router.register",
                 register_payload("before.example.com", 62001, app_a, "app-a", 1));
    REQUIRE(wait_until([&] { return gw.resolve("before.example.com") == 1; }, 5s));
    pub.reset();

    server.stop();
    REQUIRE(wait_until([&] { return gw.metric("mgw_nats_disconnects_total") >= 1; }, 10s));
    CHECK(gw.metric("mgw_nats_connected") == 0);
    std::this_thread::sleep_for(1500ms);  // several prune periods, longer than the threshold
    CHECK(gw.resolve("before.example.com") == 1);

    CHECK(gw.metric("mgw_routes_starts_published_total") == 1);
    server.start();
    // The gateway announces itself again on reconnect (emitters then re-send every route).
    REQUIRE(wait_until([&] { return gw.metric("mgw_nats_reconnects_total") >= 1; }, 15s));
    CHECK(wait_until([&] { return gw.metric("mgw_routes_starts_published_total") == 2; }, 5s));
    CHECK(gw.metric("mgw_nats_connected") == 1);
    // A restarted emitter greets first, as route-emitter does, then re-sends its routes.
    pub = std::make_unique<emitter>(server.url());
    const std::string greeting = pub->greet();
    REQUIRE_FALSE(greeting.empty());
    CHECK(greeting == gw.payload());
    pub->publish("router.register", register_payload("after.example.com", 62002, app_b, "app-b"));
    pub->publish("router.register",
                 register_payload("before.example.com", 62001, app_a, "app-a", 1));
    CHECK(wait_until([&] { return gw.resolve("after.example.com") == 1; }, 5s));
    CHECK(gw.resolve("acme/dev/app-b") == 1);
    CHECK(gw.resolve("before.example.com") == 1);
}

TEST_CASE("a burst of registrations is read completely from the edge-triggered loop") {
    const int port = free_port();
    nats_server server(port);
    emitter pub(server.url());
    gateway gw(server.url());
    REQUIRE_FALSE(pub.next_start(10s).empty());

    // Several socket buffers' worth of messages in one go: every byte must be read even when no
    // new data arrives after the last readiness edge.
    constexpr int count = 5000;
    for (int i = 0; i < count; ++i) {
        const std::string uri = "burst-" + std::to_string(i) + ".example.com";
        REQUIRE(natsConnection_PublishString(
                    pub.connection(), "router.register",
                    register_payload(uri, 10000 + i, app_a, "app-a").c_str()) == NATS_OK);
    }
    REQUIRE(natsConnection_Flush(pub.connection()) == NATS_OK);
    CHECK(wait_until([&] { return gw.metric("mgw_routes_registers_total") == count; }, 30s));
    CHECK(wait_until([&] { return gw.resolve("acme/dev/app-a") == count; }, 5s));
    CHECK(gw.metric("mgw_routes") == count);
    CHECK(gw.resolve("burst-4999.example.com") == 1);
    CHECK(gw.metric("mgw_nats_dropped_messages_total") == 0);
}
