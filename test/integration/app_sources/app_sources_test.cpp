// Integration tests: the app endpoint with sources other than scraped instances (the seam
// pushed metrics and RSocket clients use) and with a metrics path registered through the broker.
// Real HTTP on loopback: an instance served by the gateway's own server, the app endpoint, and
// the gateway's scraper as the client.
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/apps/app_metrics_service.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/scrape/scraper.hpp>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using namespace mgw;

namespace {

constexpr std::string_view routed_guid = "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f";
constexpr std::string_view pushed_only_guid = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";

http::server_options loopback() {
    http::server_options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.access_log = false;
    return options;
}

// What a source saw, and what it hands back: a fixed exposition per app GUID.
class recording_source : public apps::app_source {
  public:
    std::map<std::string, std::string, std::less<>> bodies;
    std::vector<std::string> seen_identifiers;
    std::vector<std::string> seen_guids;

    asio::awaitable<void> collect(const apps::app_query& app, std::chrono::steady_clock::time_point,
                                  std::vector<apps::contributed_exposition>& out) override {
        seen_identifiers.emplace_back(app.identifier);
        seen_guids.emplace_back(app.app_guid);
        const std::string_view guid = app.app_guid.empty() ? app.identifier : app.app_guid;
        const auto found = bodies.find(guid);
        if (found == bodies.end()) {
            co_return;
        }
        std::string app_name = "unknown";
        if (app.tags != nullptr && app.tags->contains("app_name")) {
            app_name = app.tags->at("app_name");
        }
        apps::contributed_exposition& contribution = out.emplace_back(
            apps::read_contribution(found->second, exposition::format::prometheus_text));
        contribution.labels = {
            {"app_id", std::string(guid)}, {"app_name", app_name}, {"source", "push \"quoted\""}};
    }
};

// A source whose series are added about the app (as external exporters are), not its own.
class added_source : public recording_source {
  public:
    apps::series_origin origin() const override { return apps::series_origin::added; }
};

// A source that has nothing, found out only at its deadline (an RSocket client that never
// answers a pull): the endpoint must not wait for it before asking the others.
class silent_source : public apps::app_source {
  public:
    asio::awaitable<void> collect(const apps::app_query&,
                                  std::chrono::steady_clock::time_point deadline,
                                  std::vector<apps::contributed_exposition>&) override {
        asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
        co_await timer.async_wait(asio::use_awaitable);
    }
};

// An instance that serves its metrics on one path only.
http::router instance_routes(std::string path) {
    http::router routes;
    routes.add(http::verb::get, std::move(path),
               [](http::request_context&, http::response& response) -> asio::awaitable<void> {
                   response.status(http::status::ok);
                   response.set("Content-Type", "text/plain; version=0.0.4");
                   response.body("# TYPE requests_total counter\nrequests_total 7\n");
                   co_return;
               });
    return routes;
}

struct fixture {
    core::logger log{core::log_level::error};
    prometheus::Registry registry;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    routes::route_table table{routes::route_table_options{}};
    scrape::scraper_config scraper_settings;
    scrape::scraper scraper{io.get_executor(), scraper_settings, log, registry};
    recording_source source;
    apps::app_metrics_options options;
    apps::app_metrics_service service{table, scraper, options, log, registry};
    std::optional<http::server> instance;
    std::optional<http::server> gateway;
    std::thread runner;

    explicit fixture(std::string instance_path = "/metrics",
                     std::chrono::milliseconds scrape_timeout = 10s)
        : options{.scrape_timeout = scrape_timeout} {
        instance.emplace(io, loopback(), instance_routes(std::move(instance_path)), log, registry);
        instance->start();
        table.add_static({.uri = "app.example.com",
                          .host = "127.0.0.1",
                          .port = instance->local_port(),
                          .tls_port = 0,
                          .server_cert_domain_san = "",
                          .private_instance_id = "instance-0",
                          .tags = {{"app_id", std::string(routed_guid)},
                                   {"app_name", "billing"},
                                   {"process_type", "web"},
                                   {"organization_name", "org"},
                                   {"space_name", "space"}}},
                         routes::route_clock::now());
        table.publish();
        service.add_source(source);
    }

    void serve() {
        http::router routes;
        service.register_routes(routes);
        gateway.emplace(io, loopback(), std::move(routes), log, registry);
        gateway->start();
        runner = std::thread([this] { io.run(); });
    }

    ~fixture() {
        work.reset();
        io.stop();
        if (runner.joinable()) {
            runner.join();
        }
    }

    scrape::scrape_result get(std::string path) {
        const scrape::scrape_target target{.host = "127.0.0.1",
                                           .port = gateway->local_port(),
                                           .tls = false,
                                           .server_name = "",
                                           .path = std::move(path)};
        const scrape::scrape_request_options options{
            .deadline = std::chrono::steady_clock::now() + 10s,
            .headers = {},
            .accept = "text/plain; version=0.0.4",
            .max_body_bytes = 1u << 20,
            .accept_gzip = false};
        return asio::co_spawn(io, scraper.scrape_one(target, options), asio::use_future).get();
    }
};

}  // namespace

TEST_CASE("a source's series join the scraped instances with its labels escaped") {
    fixture f;
    f.source.bodies.emplace(routed_guid, "# TYPE pushed_value gauge\npushed_value 42\n");
    f.serve();

    const auto result = f.get("/v1/apps/org/space/billing/metrics");
    INFO(result.status << " " << result.reason << " " << scrape::to_string(result.error));
    REQUIRE(result.ok());
    CHECK(result.body.find("requests_total{organization_id=\"\"") != std::string::npos);
    CHECK(result.body.find("pushed_value{app_id=\"6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f\","
                           "app_name=\"billing\",source=\"push \\\"quoted\\\"\"} 42\n") !=
          std::string::npos);
    REQUIRE(f.source.seen_identifiers.size() == 1);
    CHECK(f.source.seen_identifiers.front() == "org/space/billing");
    CHECK(f.source.seen_guids.front() == routed_guid);
}

TEST_CASE("an app no route knows is served from its sources alone, 404 when none knows it") {
    fixture f;
    f.source.bodies.emplace(pushed_only_guid, "# TYPE pushed_value gauge\npushed_value 1\n");
    f.serve();

    const auto pushed = f.get("/v2/apps/" + std::string(pushed_only_guid) + "/metrics");
    REQUIRE(pushed.ok());
    CHECK(pushed.body.find("pushed_value{app_id=\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\","
                           "app_name=\"unknown\"") != std::string::npos);
    CHECK(pushed.body.find("requests_total") == std::string::npos);
    // Sources are asked by the GUID in its canonical spelling, also for an app only they know.
    CHECK(f.source.seen_guids.back() == pushed_only_guid);

    const auto unknown = f.get("/v2/apps/1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5/metrics");
    CHECK(unknown.status == 404);
}

TEST_CASE("an invalid contribution is left out and counted, the instances still served") {
    fixture f;
    f.source.bodies.emplace(routed_guid, "pushed_value{ 42\n");
    f.serve();

    const auto result = f.get("/v1/apps/" + std::string(routed_guid) + "/metrics");
    REQUIRE(result.ok());
    INFO(result.body);
    CHECK(result.body.find("requests_total{") != std::string::npos);
    CHECK(result.body.find("pushed_value") == std::string::npos);
    const auto families = f.registry.Collect();
    const auto errors = std::find_if(families.begin(), families.end(), [](const auto& family) {
        return family.name == "mgw_app_source_errors_total";
    });
    REQUIRE(errors != families.end());
    CHECK(errors->metric.front().counter.value == 1);
}

TEST_CASE("a metrics path registered for the app replaces /metrics unless metric_path is given") {
    fixture f("/custom/prometheus");
    std::vector<std::string> looked_up;
    f.service.set_metric_path_lookup([&](std::string_view guid) -> std::optional<std::string> {
        looked_up.emplace_back(guid);
        return std::string("custom/prometheus");
    });
    f.serve();

    const auto registered = f.get("/v1/apps/" + std::string(routed_guid) + "/metrics");
    REQUIRE(registered.ok());
    CHECK(registered.body.find("requests_total{") != std::string::npos);
    REQUIRE(looked_up.size() == 1);
    CHECK(looked_up.front() == routed_guid);

    // The explicit path wins; the instance has nothing there and no source knows the app.
    const auto explicit_path =
        f.get("/v1/apps/" + std::string(routed_guid) + "/metrics?metric_path=/metrics");
    CHECK(explicit_path.status == 406);
    CHECK(looked_up.size() == 1);
}

TEST_CASE("sources are asked at once: one silent until the deadline leaves the others theirs") {
    fixture f("/metrics", 1500ms);
    silent_source silent;
    recording_source late;
    late.bodies.emplace(routed_guid, "# TYPE late_value gauge\nlate_value 3\n");
    f.service.add_source(silent);
    f.service.add_source(late);
    f.serve();

    // The gateway's deadline is scrape.timeout, 1.5 s; the client waits 10 s.
    const auto started = std::chrono::steady_clock::now();
    const auto result = f.get("/v2/apps/org/space/billing/metrics");
    const auto elapsed = std::chrono::steady_clock::now() - started;
    REQUIRE(result.ok());
    INFO(result.body);
    CHECK(result.body.find("late_value{app_id=") != std::string::npos);
    CHECK(result.body.find("requests_total{") != std::string::npos);
    CHECK(elapsed < 8s);  // the silent source's deadline, far from the client's 10 s
    CHECK(late.seen_guids.size() == 1);
}

TEST_CASE("only-app-metrics asks only the sources of the app's own series") {
    fixture f;
    added_source added;
    added.bodies.emplace(routed_guid, "# TYPE added_value gauge\nadded_value 5\n");
    f.source.bodies.emplace(routed_guid, "# TYPE own_value gauge\nown_value 6\n");
    f.service.add_source(added);
    f.serve();

    for (const std::string& path :
         std::vector<std::string>{"/v2/apps/org/space/billing/only-app-metrics",
                                  "/v1/apps/only-app-metrics?app=" + std::string(routed_guid),
                                  "/v2/apps/app.example.com/metrics?only_from_app=true"}) {
        const auto only = f.get(path);
        REQUIRE(only.ok());
        INFO(path << "\n" << only.body);
        CHECK(only.body.find("own_value{") != std::string::npos);
        CHECK(only.body.find("requests_total{") != std::string::npos);
        CHECK(only.body.find("added_value") == std::string::npos);
        CHECK(only.body.find("mgw_scrape_") == std::string::npos);
    }
    CHECK(added.seen_guids.empty());
    CHECK(f.source.seen_guids.size() == 3);

    const auto all = f.get("/v2/apps/org/space/billing/metrics");
    REQUIRE(all.ok());
    CHECK(all.body.find("added_value{app_id=") != std::string::npos);
    CHECK(all.body.find("own_value{") != std::string::npos);
    CHECK(all.body.find("mgw_scrape_up{") != std::string::npos);
    CHECK(added.seen_guids.size() == 1);
}
