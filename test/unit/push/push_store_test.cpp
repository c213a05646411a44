// The push store: latest value per (app, instance index, name, tags), TTL, type conflicts,
// the per-app series bound, and the text a scrape of the app gets.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/writer.hpp>
#include <mgw/push/push_store.hpp>

namespace {

using namespace std::chrono_literals;
using mgw::push::push_binding;
using mgw::push::push_request;
using mgw::push::push_store;
using mgw::push::store_rejection;

const push_store::clock::time_point t0{1000h};
constexpr std::int64_t wall_ms = 1'700'000'000'000;

push_binding binding(std::string app = "app-1") {
    return {.binding_id = "bind-" + app,
            .app_guid = std::move(app),
            .plan_id = "unlimited",
            .limits = {},
            .labels = {{"organization_name", "org"}, {"space_name", "dev"}}};
}

// One instance's metrics, given as the JSON array's elements.
push_request request(std::string_view metrics, std::string_view index = "0",
                     std::string_view app = "app-1") {
    std::string body = R"({"applications":[{"id":")" + std::string(app) +
                       R"(","instances":[{"index":")" + std::string(index) + R"(","metrics":[)";
    body += metrics;
    body += "]}]}]}";
    auto result = mgw::push::decode_push_request(body);
    REQUIRE(result.has_value());
    return *std::move(result);
}

// An instance's series as 0.0.4 text, written from the model a scrape gets.
std::string text_of(const mgw::push::pushed_instance_series& instance) {
    std::string text;
    mgw::exposition::write_exposition(text, instance.series, {});
    return text;
}

std::string text_of(const push_store& store, std::string_view app,
                    push_store::clock::time_point now, std::size_t instance = 0) {
    const auto pushed = store.collect(app, now);
    REQUIRE(pushed);
    REQUIRE(pushed->instances.size() > instance);
    return text_of(pushed->instances[instance]);
}

// (index, text) of each instance a scrape gets.
std::vector<std::pair<std::string, std::string>> instances_of(const mgw::push::pushed_app& app) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& instance : app.instances) {
        out.emplace_back(instance.index, text_of(instance));
    }
    return out;
}

}  // namespace

TEST_CASE("a push is rendered per instance as 0.0.4 text, families sorted by name") {
    push_store store;
    REQUIRE_FALSE(store.apply(
        binding(),
        request(
            R"({"name":"jvm.memory.used","type":"gauge","value":1.5,"tags":{"area":"heap"}},)"
            R"({"name":"requests","type":"counter","value":42},)"
            R"({"name":"jvm.memory.used","type":"gauge","value":2,"tags":{"area":"non\"heap"}})"),
        t0, wall_ms));
    CHECK(text_of(store, "app-1", t0) ==
          "# TYPE jvm_memory_used gauge\n"
          "jvm_memory_used{area=\"heap\"} 1.5\n"
          "jvm_memory_used{area=\"non\\\"heap\"} 2\n"
          "# TYPE requests counter\n"
          "requests 42\n");
    CHECK(store.series_count() == 3);
    CHECK(store.app_count() == 1);
    const auto pushed = store.collect("APP-1", t0);  // GUIDs compare case-insensitively
    REQUIRE(pushed);
    CHECK(pushed->instances[0].index == "0");
    CHECK(pushed->binding_labels.at("space_name") == "dev");
    CHECK_FALSE(store.collect("app-2", t0));
}

TEST_CASE("instances are separate bodies in numeric order") {
    push_store store;
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"m","type":"gauge","value":10})", "10"),
                              t0, wall_ms));
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"m","type":"gauge","value":2})", "2"),
                              t0, wall_ms));
    const auto pushed = store.collect("app-1", t0);
    REQUIRE(pushed);
    REQUIRE(pushed->instances.size() == 2);
    CHECK(instances_of(*pushed)[0] ==
          std::pair<std::string, std::string>{"2", "# TYPE m gauge\nm 2\n"});
    CHECK(instances_of(*pushed)[1] ==
          std::pair<std::string, std::string>{"10", "# TYPE m gauge\nm 10\n"});
}

TEST_CASE("the latest value wins, counters are stored as sent, never summed") {
    push_store store;
    REQUIRE_FALSE(
        store.apply(binding(), request(R"({"name":"c","type":"counter","value":5})"), t0, wall_ms));
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"c","type":"counter","value":7})"),
                              t0 + 1s, wall_ms + 1000));
    CHECK(text_of(store, "app-1", t0 + 1s) == "# TYPE c counter\nc 7\n");
    // A counter that went down (the app restarted) is stored as sent too.
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"c","type":"counter","value":1})"),
                              t0 + 2s, wall_ms + 2000));
    CHECK(text_of(store, "app-1", t0 + 2s) == "# TYPE c counter\nc 1\n");
    // Integers beyond 2^53 stay exact.
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"c","type":"counter","value":9007199254740993})"),
                              t0 + 3s, wall_ms + 3000));
    CHECK(text_of(store, "app-1", t0 + 3s) == "# TYPE c counter\nc 9007199254740993\n");
    CHECK(store.series_count() == 1);
}

TEST_CASE("a later push replaces the value whatever its timestamp") {
    push_store store({.ttl = 5min, .max_series_per_app = 100});
    // A timestamp far ahead of the others (a client clock that was wrong once) used to freeze
    // the series: later pushes got 202, were ignored, and each renewed its TTL.
    REQUIRE_FALSE(store.apply(
        binding(), request(R"({"name":"g","type":"gauge","value":2,"timestamp":1700000240000})"),
        t0, wall_ms));
    REQUIRE_FALSE(store.apply(
        binding(), request(R"({"name":"g","type":"gauge","value":1,"timestamp":1700000001000})"),
        t0 + 1min, wall_ms));
    CHECK(text_of(store, "app-1", t0 + 1min) == "# TYPE g gauge\ng 1\n");
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"g","type":"gauge","value":3})"),
                              t0 + 2min, wall_ms + 120000));
    CHECK(text_of(store, "app-1", t0 + 2min) == "# TYPE g gauge\ng 3\n");
    CHECK(store.collect("app-1", t0 + 6min));
    CHECK_FALSE(store.collect("app-1", t0 + 7min + 1ms));
}

TEST_CASE("within one push, the latest timestamp of a repeated series wins") {
    push_store store;
    REQUIRE_FALSE(
        store.apply(binding(),
                    request(R"({"name":"g","type":"gauge","value":2,"timestamp":1700000002000},)"
                            R"({"name":"g","type":"gauge","value":1,"timestamp":1700000001000},)"
                            R"({"name":"h","type":"gauge","value":1,"timestamp":1700000001000},)"
                            R"({"name":"h","type":"gauge","value":5,"timestamp":1700000001000})"),
                    t0, wall_ms));
    CHECK(text_of(store, "app-1", t0) == "# TYPE g gauge\ng 2\n# TYPE h gauge\nh 5\n");
    CHECK(store.series_count() == 2);
}

TEST_CASE("series expire push.ttl after their last push") {
    push_store store({.ttl = 5min, .max_series_per_app = 100});
    REQUIRE_FALSE(
        store.apply(binding(), request(R"({"name":"old","type":"gauge","value":1})"), t0, wall_ms));
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"new","type":"gauge","value":2})"),
                              t0 + 3min, wall_ms));
    CHECK(text_of(store, "app-1", t0 + 5min) ==
          "# TYPE new gauge\nnew 2\n# TYPE old gauge\nold 1\n");
    // Hidden from scrapes as soon as they expire, freed by the next sweep.
    CHECK(text_of(store, "app-1", t0 + 5min + 1ms) == "# TYPE new gauge\nnew 2\n");
    CHECK(store.series_count() == 2);
    CHECK(store.sweep(t0 + 5min + 1ms) == 1);
    CHECK(store.series_count() == 1);
    CHECK(store.sweep(t0 + 9min) == 1);
    CHECK(store.series_count() == 0);
    CHECK(store.app_count() == 0);
    CHECK_FALSE(store.collect("app-1", t0 + 9min));
    // The name is free again, for any type.
    CHECK_FALSE(store.apply(binding(), request(R"({"name":"old","type":"counter","value":1})"),
                            t0 + 10min, wall_ms));
}

TEST_CASE("a name pushed with another type is refused and the store is unchanged") {
    push_store store;
    REQUIRE_FALSE(
        store.apply(binding(), request(R"({"name":"x","type":"gauge","value":1})"), t0, wall_ms));
    const auto refused = store.apply(binding(),
                                     request(R"({"name":"fresh","type":"gauge","value":9},)"
                                             R"({"name":"x","type":"counter","value":2})",
                                             "3"),
                                     t0, wall_ms);
    REQUIRE(refused);
    CHECK(refused->reason == store_rejection::type_conflict);
    CHECK(refused->detail.field == "applications[0].instances[0].metrics[1].type");
    CHECK(refused->detail.message ==
          "\"x\" is a counter here but this app already pushes a gauge under that name");
    CHECK(store.series_count() == 1);
    CHECK(store.collect("app-1", t0)->instances.size() == 1);
    CHECK(text_of(store, "app-1", t0) == "# TYPE x gauge\nx 1\n");

    // Other apps have their own names.
    CHECK_FALSE(store.apply(binding("app-2"),
                            request(R"({"name":"x","type":"counter","value":2})", "0", "app-2"), t0,
                            wall_ms));
}

TEST_CASE("within one body, and across the OpenMetrics counter suffix") {
    push_store store;
    auto refused = store.apply(binding(),
                               request(R"({"name":"y","type":"gauge","value":1},)"
                                       R"({"name":"y","type":"counter","value":2})"),
                               t0, wall_ms);
    REQUIRE(refused);
    CHECK(refused->detail.field == "applications[0].instances[0].metrics[1].type");
    CHECK(store.series_count() == 0);

    // Counter `c` is `c_total` in OpenMetrics: a gauge of either name would clash with it.
    REQUIRE_FALSE(
        store.apply(binding(), request(R"({"name":"c","type":"counter","value":1})"), t0, wall_ms));
    CHECK(store.apply(binding(), request(R"({"name":"c_total","type":"gauge","value":1})"), t0,
                      wall_ms));
    REQUIRE_FALSE(store.apply(
        binding(), request(R"({"name":"d_total","type":"counter","value":1})"), t0, wall_ms));
    CHECK(store.apply(binding(), request(R"({"name":"d","type":"gauge","value":1})"), t0, wall_ms));
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"e_total","type":"gauge","value":1})"),
                              t0, wall_ms));
    CHECK(
        store.apply(binding(), request(R"({"name":"e","type":"counter","value":1})"), t0, wall_ms));
    // Unrelated names stay unrelated.
    CHECK_FALSE(store.apply(binding(), request(R"({"name":"c_totals","type":"gauge","value":1})"),
                            t0, wall_ms));
    CHECK(store.series_count() == 4);
}

TEST_CASE("the per-app series bound refuses new series, not updates") {
    push_store store({.ttl = 5min, .max_series_per_app = 2});
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"a","type":"gauge","value":1},)"
                                      R"({"name":"b","type":"gauge","value":1})"),
                              t0, wall_ms));
    // Updating both, even twice in one body, is fine.
    CHECK_FALSE(store.apply(binding(),
                            request(R"({"name":"a","type":"gauge","value":2},)"
                                    R"({"name":"b","type":"gauge","value":2},)"
                                    R"({"name":"a","type":"gauge","value":3})"),
                            t0, wall_ms));
    CHECK(text_of(store, "app-1", t0) == "# TYPE a gauge\na 3\n# TYPE b gauge\nb 2\n");
    const auto refused =
        store.apply(binding(),
                    request(R"({"name":"a","type":"gauge","value":4},)"
                            R"({"name":"a","type":"gauge","value":4,"tags":{"k":"v"}})"),
                    t0, wall_ms);
    REQUIRE(refused);
    CHECK(refused->reason == store_rejection::series_limit);
    CHECK(refused->detail.field == "applications[0].instances[0].metrics[1]");
    CHECK(refused->detail.message ==
          "a new series, but this app already holds 2 pushed series (the most 2 one app may "
          "hold) and this request brings 1 new ones");
    CHECK(text_of(store, "app-1", t0) == "# TYPE a gauge\na 3\n# TYPE b gauge\nb 2\n");
    // Another app has its own bound.
    CHECK_FALSE(store.apply(binding("app-2"),
                            request(R"({"name":"a","type":"gauge","value":1})", "0", "app-2"), t0,
                            wall_ms));
}

TEST_CASE("the same name on different instances or tags are different series") {
    push_store store;
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"m","type":"gauge","value":1,"tags":{"k":"1"}},)"
                                      R"({"name":"m","type":"gauge","value":2,"tags":{"k":"2"}})"),
                              t0, wall_ms));
    REQUIRE_FALSE(store.apply(binding(), request(R"({"name":"m","type":"gauge","value":3})", "1"),
                              t0, wall_ms));
    CHECK(store.series_count() == 3);
}

TEST_CASE("the binding's labels are the latest push's") {
    push_store store;
    push_binding b = binding();
    REQUIRE_FALSE(store.apply(b, request(R"({"name":"m","type":"gauge","value":1})"), t0, wall_ms));
    b.labels["space_name"] = "prod";
    REQUIRE_FALSE(store.apply(b, request(R"({"name":"m","type":"gauge","value":1})"), t0, wall_ms));
    CHECK(store.collect("app-1", t0)->binding_labels.at("space_name") == "prod");
}

TEST_CASE("a push without metrics holds nothing") {
    push_store store;
    auto decoded = mgw::push::decode_push_request(
        R"({"applications":[{"id":"app-1","instances":[{"index":"0","metrics":[]}]}]})");
    REQUIRE_FALSE(store.apply(binding(), *decoded, t0, wall_ms));
    CHECK(store.app_count() == 0);
    CHECK_FALSE(store.collect("app-1", t0));
}

TEST_CASE("values are written as people read them and parsers round-trip them") {
    push_store store;
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"a","type":"gauge","value":1.5e7},)"
                                      R"({"name":"b","type":"gauge","value":-3},)"
                                      R"({"name":"c","type":"gauge","value":0.1},)"
                                      R"({"name":"d","type":"gauge","value":1e20},)"
                                      R"({"name":"e","type":"gauge","value":-2.5e-9})"),
                              t0, wall_ms));
    CHECK(text_of(store, "app-1", t0) ==
          "# TYPE a gauge\na 15000000\n# TYPE b gauge\nb -3\n# TYPE c gauge\nc 0.1\n"
          "# TYPE d gauge\nd 1e+20\n# TYPE e gauge\ne -2.5e-09\n");
}

TEST_CASE("concurrent pushes, scrapes and sweeps keep the counts consistent") {
    // A TTL of 0 and a thread that does nothing but sweep: apps keep emptying and being
    // recreated while others push into them, which is where a sweep could pull an entry away
    // between its creation and its use.
    push_store store({.ttl = 0ms, .max_series_per_app = 1000});
    const push_request body = request(R"({"name":"a","type":"gauge","value":1},)"
                                      R"({"name":"b","type":"counter","value":2})");
    std::atomic<bool> failed{false};
    std::atomic<int> pushers_left{3};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        while (pushers_left.load() > 0) {
            store.sweep(push_store::clock::now() + 1s);
        }
    });
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3000; ++i) {
                const push_binding b = binding("app-" + std::to_string((i + t) % 5));
                const auto now = push_store::clock::now();
                if (store.apply(b, body, now, wall_ms)) {
                    failed = true;
                }
                store.collect(b.app_guid, now);
            }
            --pushers_left;
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK_FALSE(failed);
    store.sweep(push_store::clock::now() + 1h);
    CHECK(store.series_count() == 0);
    CHECK(store.app_count() == 0);
}

TEST_CASE("live_apps lists the apps with a series within the TTL, with their binding's labels") {
    push_store store({.ttl = 60s});
    const std::string upper = "A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15";
    REQUIRE_FALSE(store.apply(binding(upper),
                              request(R"({"name":"a","type":"gauge","value":1})", "0", upper), t0,
                              wall_ms));
    REQUIRE_FALSE(store.apply(binding("app-2"),
                              request(R"({"name":"b","type":"gauge","value":2})", "0", "app-2"),
                              t0 + 50s, wall_ms));
    auto live = store.live_apps(t0 + 30s);
    std::sort(live.begin(), live.end());
    REQUIRE(live.size() == 2);
    CHECK(live[0].first == "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15");  // stored canonical
    CHECK(live[0].second.at("organization_name") == "org");
    CHECK(live[1].first == "app-2");
    // The first app's only series is older than the TTL now, though not swept yet.
    live = store.live_apps(t0 + 61s);
    REQUIRE(live.size() == 1);
    CHECK(live[0].first == "app-2");
    CHECK(store.live_apps(t0 + 200s).empty());
}
