// Integration tests: series pushed over HTTP to POST /v1/metrics appear in the app's merged
// answer (`/v1|v2/apps/.../metrics`) next to its scraped instance, with the CF labels from the
// route table or, for an app no route knows, from its binding; and leave it after push.ttl.
// Real HTTP on loopback: the gateway's server, push service, app endpoint and scraper.
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/apps/app_metrics_service.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server.hpp>
#include <mgw/push/push_service.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/scrape/scraper.hpp>

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
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

// The broker's directory stands in as a map: the broker is not part of these tests.
class map_directory final : public push::binding_directory {
  public:
    std::map<std::string, push::push_binding, std::less<>> keys;

    std::optional<push::push_binding> find_by_access_key(std::string_view key) const override {
        const auto it = keys.find(key);
        return it == keys.end() ? std::nullopt : std::optional(it->second);
    }
};

http::router instance_routes() {
    http::router routes;
    routes.add(http::verb::get, "/metrics",
               [](http::request_context&, http::response& response) -> asio::awaitable<void> {
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
    apps::app_metrics_service apps{table, scraper, apps::app_metrics_options{}, log, registry};
    map_directory directory;
    std::atomic<std::chrono::steady_clock::duration> clock_offset{};
    std::optional<push::push_service> pusher;
    std::optional<http::server> instance;
    std::optional<http::server> gateway;
    std::thread runner;

    fixture() {
        directory.keys.emplace("routed-key",
                               push::push_binding{.binding_id = "b-1",
                                                  .app_guid = std::string(routed_guid),
                                                  .plan_id = "unlimited",
                                                  .limits = {},
                                                  .labels = {{"space_name", "stale"}}});
        directory.keys.emplace("pushed-key",
                               push::push_binding{.binding_id = "b-2",
                                                  .app_guid = std::string(pushed_only_guid),
                                                  .plan_id = "unlimited",
                                                  .limits = {},
                                                  .labels = {{"organization_id", "org-guid"},
                                                             {"space_id", "space-guid"},
                                                             {"organization_name", "org"},
                                                             {"space_name", "batch"},
                                                             {"app_name", "worker"}}});
        push::push_service_options options;
        options.store.ttl = 5min;
        options.clocks.steady = [this] {
            return std::chrono::steady_clock::now() + clock_offset.load();
        };
        pusher.emplace(directory, options, log, registry);
        apps.add_source(*pusher);

        instance.emplace(io, loopback(), instance_routes(), log, registry);
        instance->start();
        table.add_static({.uri = "billing.example.com",
                          .host = "127.0.0.1",
                          .port = instance->local_port(),
                          .tls_port = 0,
                          .server_cert_domain_san = "",
                          .private_instance_id = "instance-0",
                          .tags = {{"app_id", std::string(routed_guid)},
                                   {"app_name", "billing"},
                                   {"instance_id", "0"},
                                   {"process_type", "web"},
                                   {"organization_name", "org"},
                                   {"space_name", "space"}}},
                         routes::route_clock::now());
        table.publish();

        http::router routes;
        apps.register_routes(routes);
        pusher->register_routes(routes);
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

    // POST /v1/metrics from a plain Beast client on its own io_context.
    unsigned push(std::string_view key, std::string body) {
        asio::io_context client_io;
        asio::ip::tcp::socket socket(client_io);
        socket.connect({asio::ip::make_address("127.0.0.1"), gateway->local_port()});
        beast_http::request<beast_http::string_body> request{beast_http::verb::post, "/v1/metrics",
                                                             11};
        request.set(beast_http::field::host, "127.0.0.1");
        request.set(beast_http::field::authorization, key);
        request.set(beast_http::field::content_type, "application/json;charset=UTF-8");
        request.body() = std::move(body);
        request.prepare_payload();
        beast_http::write(socket, request);
        boost::beast::flat_buffer buffer;
        beast_http::response<beast_http::string_body> response;
        beast_http::read(socket, buffer, response);
        return response.result_int();
    }

    scrape::scrape_result get(std::string path, std::string accept = "text/plain; version=0.0.4") {
        const scrape::scrape_target target{.host = "127.0.0.1",
                                           .port = gateway->local_port(),
                                           .tls = false,
                                           .server_name = "",
                                           .path = std::move(path)};
        const scrape::scrape_request_options options{
            .deadline = std::chrono::steady_clock::now() + 5s,
            .headers = {},
            .accept = std::move(accept),
            .max_body_bytes = 1u << 20,
            .accept_gzip = false};
        return asio::co_spawn(io, scraper.scrape_one(target, options), asio::use_future).get();
    }
};

std::string metrics_body(std::string_view guid, std::string_view metrics,
                         std::string_view index = "0") {
    std::string body = R"({"applications":[{"id":")";
    body += guid;
    body += R"(","instances":[{"id":"c0ffee00-0000-4000-8000-000000000000","index":")";
    body += index;
    body += R"(","metrics":[)";
    body += metrics;
    body += "]}]}],\"version\":1}";
    return body;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("pushed series join the routed app's scraped instance with the route's labels") {
    fixture f;
    REQUIRE(f.push("routed-key", metrics_body(routed_guid,
                                              R"({"name":"queue.depth","type":"gauge","value":3.5,)"
                                              R"("tags":{"queue":"mail"}},)"
                                              R"({"name":"jobs.done","type":"counter","value":12})",
                                              "1")) == 202);

    const auto result = f.get("/v1/apps/org/space/billing/metrics");
    INFO(result.status << " " << result.reason << "\n" << result.body);
    REQUIRE(result.ok());
    CHECK(contains(result.body, "requests_total{organization_id=\"\""));
    // The route's tags win over the binding's labels; index/instance_id are the pushed ones.
    CHECK(contains(result.body,
                   "queue_depth{queue=\"mail\",organization_id=\"\",space_id=\"\",app_id=\"" +
                       std::string(routed_guid) +
                       "\",organization_name=\"org\",space_name=\"space\",app_name=\"billing\","
                       "index=\"1\",instance_id=\"1\",source=\"push\"} 3.5\n"));
    CHECK(contains(result.body, "# TYPE jobs_done counter\n"));
    CHECK(contains(result.body, "jobs_done{organization_id=\"\""));
    CHECK_FALSE(contains(result.body, "stale"));
}

TEST_CASE("an app that only pushes is served with its binding's labels, in either format") {
    fixture f;
    REQUIRE(f.push("pushed-key", metrics_body(pushed_only_guid,
                                              R"({"name":"batches","type":"counter","value":4},)"
                                              R"({"name":"lag","type":"gauge","value":0.25,)"
                                              R"("tags":{"app_name":"mine"}})")) == 202);

    const auto text = f.get("/v2/apps/" + std::string(pushed_only_guid) + "/metrics");
    INFO(text.body);
    REQUIRE(text.ok());
    CHECK(contains(text.body,
                   "batches{organization_id=\"org-guid\",space_id=\"space-guid\",app_id=\"" +
                       std::string(pushed_only_guid) +
                       "\",organization_name=\"org\",space_name=\"batch\","
                       "app_name=\"worker\",index=\"0\",instance_id=\"0\","
                       "source=\"push\"} 4\n"));
    // A tag named like a CF label is kept as exported_<name>, as Prometheus would.
    CHECK(contains(text.body, "lag{exported_app_name=\"mine\","));

    const auto open_metrics = f.get("/v2/apps/" + std::string(pushed_only_guid) + "/metrics",
                                    "application/openmetrics-text; version=1.0.0");
    INFO(open_metrics.body);
    REQUIRE(open_metrics.ok());
    CHECK(contains(open_metrics.content_type, "application/openmetrics-text"));
    CHECK(contains(open_metrics.body, "# TYPE batches counter\n"));
    CHECK(contains(open_metrics.body, "batches_total{"));
    CHECK(open_metrics.body.ends_with("# EOF\n"));
}

TEST_CASE("pushed series leave the app's answer push.ttl after their last push") {
    fixture f;
    REQUIRE(f.push("pushed-key",
                   metrics_body(pushed_only_guid, R"({"name":"lag","type":"gauge","value":1})")) ==
            202);
    REQUIRE(f.push("routed-key",
                   metrics_body(routed_guid, R"({"name":"lag","type":"gauge","value":1})")) == 202);
    REQUIRE(f.get("/v2/apps/" + std::string(pushed_only_guid) + "/metrics").ok());

    f.clock_offset = 5min + 1s;
    CHECK(f.get("/v2/apps/" + std::string(pushed_only_guid) + "/metrics").status == 404);
    const auto routed = f.get("/v1/apps/" + std::string(routed_guid) + "/metrics");
    REQUIRE(routed.ok());
    CHECK(contains(routed.body, "requests_total{"));
    CHECK_FALSE(contains(routed.body, "lag"));
}
