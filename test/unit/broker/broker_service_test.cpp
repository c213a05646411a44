// The OSB endpoints through their real HTTP handler (router match, request context, response),
// without sockets: the status-code matrix, the credentials, revocation, and a restart.
#include <cstdlib>
#include <filesystem>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/broker/broker_service.hpp>
#include <mgw/core/ascii.hpp>

namespace json = boost::json;
using mgw::http::verb;

namespace {

constexpr const char* forwarder_service = "20ca29fa-5601-4846-bf41-d73ed6c7b157";
constexpr const char* forwarder_plan = "90197714-1698-46ce-b839-492957f4a15c";
constexpr const char* small_plan = "plan-small";
constexpr const char* promfetcher_service = "75bcebab-cc25-4ef6-89dc-a91b953919f1";
constexpr const char* promfetcher_plan = "e2900be3-709b-419e-b63b-de3aabcd9e15";
// base64("broker:s3cret")
constexpr const char* good_auth = "Basic YnJva2VyOnMzY3JldA==";

class header_map final : public mgw::http::request_context::header_source {
  public:
    std::map<std::string, std::string> fields;  // lower-case names

    std::optional<std::string_view> find(std::string_view name) const override {
        std::string lower(name);
        for (char& c : lower) {
            c = mgw::core::ascii_lower(c);
        }
        const auto found = fields.find(lower);
        if (found == fields.end()) {
            return std::nullopt;
        }
        return std::string_view(found->second);
    }
};

struct answer {
    int status = 0;
    std::string body;
    std::optional<std::string> www_authenticate;

    json::value json_body() const { return json::parse(body); }
};

mgw::core::broker_config test_config(std::string database = "") {
    mgw::core::broker_config config = mgw::core::default_config().broker;
    config.enabled = true;
    config.username = "broker";
    config.password = "s3cret";
    config.database = std::move(database);
    config.metrics_forwarder.plans.push_back({.name = "small",
                                              .id = small_plan,
                                              .description = "Small",
                                              .requests_per_minute = 60,
                                              .metrics_per_minute = 600});
    return config;
}

// One broker service with its router, as the gateway builds them.
class broker_fixture {
  public:
    explicit broker_fixture(std::string database = "")
        : service_(test_config(std::move(database)), "https://gw.example.com/v1/metrics", log_,
                   registry_) {
        service_.register_routes(routes_);
    }

    mgw::broker::broker_service& service() { return service_; }

    answer call(verb method, std::string target, std::string body = "",
                std::map<std::string, std::string> headers = {{"authorization", good_auth},
                                                              {"x-broker-api-version", "2.16"}}) {
        header_map fields;
        fields.fields = std::move(headers);
        std::string path = target.substr(0, target.find('?'));
        std::vector<std::pair<std::string, std::string>> query;
        if (const auto q = target.find('?'); q != std::string::npos) {
            std::string_view rest = std::string_view(target).substr(q + 1);
            while (!rest.empty()) {
                const std::string_view pair = rest.substr(0, rest.find('&'));
                const auto eq = pair.find('=');
                query.emplace_back(
                    std::string(pair.substr(0, eq)),
                    eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
                rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
            }
        }
        const auto match = routes_.match(method, path);
        if (match.result != mgw::http::route_match::kind::found) {
            return {.status = match.result == mgw::http::route_match::kind::not_found ? 404 : 405,
                    .body = "",
                    .www_authenticate = std::nullopt};
        }
        mgw::http::request_context request(
            {.method = method,
             .method_string = boost::beast::http::to_string(method),
             .target = target,
             .path = path,
             .query = std::move(query),
             .body = &body,
             .headers = &fields,
             .remote = {},
             .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5),
             .version = 11});
        mgw::http::response response({.sink = nullptr,
                                      .gzip_accepted = false,
                                      .head_request = false,
                                      .gzip_min_bytes = 1024});
        boost::asio::io_context io;
        boost::asio::co_spawn(io, match.route->handler(request, response),
                              [](std::exception_ptr e) {
                                  if (e) {
                                      std::rethrow_exception(e);
                                  }
                              });
        io.run();
        CHECK(response.header("Content-Type") == "application/json");
        answer out{.status = static_cast<int>(response.status()),
                   .body = response.body(),
                   .www_authenticate = std::nullopt};
        if (auto field = response.header("WWW-Authenticate")) {
            out.www_authenticate = std::string(*field);
        }
        return out;
    }

    double counter(const std::string& name, const std::map<std::string, std::string>& labels) {
        for (const auto& family : registry_.Collect()) {
            if (family.name != name) {
                continue;
            }
            for (const auto& metric : family.metric) {
                std::map<std::string, std::string> have;
                for (const auto& label : metric.label) {
                    have[label.name] = label.value;
                }
                if (have == labels) {
                    return family.type == prometheus::MetricType::Gauge ? metric.gauge.value
                                                                        : metric.counter.value;
                }
            }
        }
        return 0;
    }

  private:
    mgw::core::logger log_{mgw::core::log_level::error};
    prometheus::Registry registry_;
    mgw::broker::broker_service service_;
    mgw::http::router routes_;
};

std::string instance_body(const char* service, const char* plan) {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","organization_guid":"org-guid","space_guid":"space-guid",)" +
           R"("context":{"platform":"cloudfoundry","organization_name":"org","space_name":"space"}})";
}

std::string bind_body(const char* service, const char* plan, const char* app,
                      const char* parameters = "{}") {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","bind_resource":{"app_guid":")" + app + R"("},"parameters":)" + parameters +
           R"(,"context":{"space_name":"bind-space"}})";
}

const std::string instances = "/broker/v2/service_instances/";

}  // namespace

TEST_CASE("broker: basic auth first (401), then X-Broker-API-Version 2.x (412)") {
    broker_fixture b;
    auto a = b.call(verb::get, "/broker/v2/catalog", "", {{"x-broker-api-version", "2.16"}});
    CHECK(a.status == 401);
    CHECK(a.www_authenticate == R"(Basic realm="metrics-gateway broker")");
    // base64("broker:wrong")
    a = b.call(verb::get, "/broker/v2/catalog", "",
               {{"authorization", "Basic YnJva2VyOndyb25n"}, {"x-broker-api-version", "2.16"}});
    CHECK(a.status == 401);
    a = b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan),
               {{"x-broker-api-version", "2.16"}});
    CHECK(a.status == 401);

    a = b.call(verb::get, "/broker/v2/catalog", "", {{"authorization", good_auth}});
    CHECK(a.status == 412);
    CHECK(a.json_body().at("description") == "X-Broker-API-Version header required (2.x)");
    a = b.call(verb::get, "/broker/v2/catalog", "",
               {{"authorization", good_auth}, {"x-broker-api-version", "3.0"}});
    CHECK(a.status == 412);
    CHECK(a.json_body().at("description") ==
          "X-Broker-API-Version 3.0 is not supported (expected 2.x)");
    CHECK(a.json_body().at("error") == "PreconditionFailed");

    a = b.call(verb::get, "/broker/v2/catalog", "",
               {{"authorization", good_auth}, {"x-broker-api-version", "2.11"}});
    CHECK(a.status == 200);
    CHECK(a.json_body().at("services").as_array().size() == 2);

    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "catalog"}, {"code", "401"}}) == 2);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "provision"}, {"code", "401"}}) ==
          1);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "catalog"}, {"code", "412"}}) == 2);
}

TEST_CASE("broker: provision 201, identical 200, different 409, unknown ids 400") {
    broker_fixture b;
    const std::string body = instance_body(forwarder_service, forwarder_plan);
    CHECK(b.call(verb::put, instances + "i-1", body).status == 201);
    CHECK(b.call(verb::put, instances + "i-1", body).status == 200);
    auto a = b.call(verb::put, instances + "i-1", instance_body(forwarder_service, small_plan));
    CHECK(a.status == 409);
    CHECK(a.json_body().at("description") ==
          "service instance i-1 already exists with different attributes");

    a = b.call(verb::put, instances + "i-2", instance_body("nope", forwarder_plan));
    CHECK(a.status == 400);
    CHECK(a.json_body().at("description") == R"(unknown service_id "nope")");
    a = b.call(verb::put, instances + "i-2", instance_body(forwarder_service, promfetcher_plan));
    CHECK(a.status == 400);
    a = b.call(verb::put, instances + "i-2", "{not json");
    CHECK(a.status == 400);
    CHECK(a.json_body().at("error") == "BadRequest");

    a = b.call(verb::get, instances + "i-1");
    CHECK(a.status == 200);
    CHECK(a.json_body().at("service_id") == forwarder_service);
    CHECK(a.json_body().at("plan_id") == forwarder_plan);
    CHECK(b.call(verb::get, instances + "i-404").status == 404);
    CHECK(b.call(verb::get, instances + "i-1", "",
                 {{"authorization", good_auth}, {"x-broker-api-version", "2.13"}})
              .status == 412);

    a = b.call(verb::get, instances + "i-1/last_operation");
    CHECK(a.status == 200);
    CHECK(a.json_body().at("state") == "succeeded");
    CHECK(b.call(verb::get, instances + "i-404/last_operation").status == 410);
    CHECK(b.counter("mgw_broker_instances", {}) == 1);
}

TEST_CASE("broker: update keeps the plan (422 on a change), 404 for unknown instances") {
    broker_fixture b;
    REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
                .status == 201);
    const std::string same = std::string(R"({"service_id":")") + forwarder_service +
                             R"(","plan_id":")" + forwarder_plan + R"("})";
    CHECK(b.call(verb::patch, instances + "i-1", same).status == 200);
    const std::string change = std::string(R"({"service_id":")") + forwarder_service +
                               R"(","plan_id":")" + small_plan + R"("})";
    auto a = b.call(verb::patch, instances + "i-1", change);
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "PlanChangeNotSupported");
    CHECK(b.call(verb::patch, instances + "i-404", same).status == 404);
}

TEST_CASE("broker: forwarder bind returns endpoint and a working key; unbind revokes it") {
    broker_fixture b;
    REQUIRE(
        b.call(verb::put, instances + "i-1", instance_body(forwarder_service, small_plan)).status ==
        201);
    const std::string binding = instances + "i-1/service_bindings/b-1";
    const std::string body = bind_body(forwarder_service, small_plan, "app-1");
    auto a = b.call(verb::put, binding, body);
    REQUIRE(a.status == 201);
    const json::value credentials = a.json_body().at("credentials");
    CHECK(credentials.at("endpoint") == "https://gw.example.com/v1/metrics");
    const std::string key(credentials.at("access_key").as_string());
    CHECK(key.size() == 36);

    auto found = b.service().directory().find_by_access_key(key);
    REQUIRE(found);
    CHECK(found->binding_id == "b-1");
    CHECK(found->app_guid == "app-1");
    CHECK(found->plan_id == small_plan);
    CHECK(found->limits.requests_per_minute == 60u);
    CHECK(found->limits.metrics_per_minute == 600u);
    CHECK(found->labels == std::map<std::string, std::string>{{"app_id", "app-1"},
                                                              {"organization_id", "org-guid"},
                                                              {"organization_name", "org"},
                                                              {"space_id", "space-guid"},
                                                              {"space_name", "bind-space"}});

    // GET: the endpoint, never the key (only its hash is kept).
    a = b.call(verb::get, binding);
    CHECK(a.status == 200);
    CHECK(a.body == R"({"credentials":{"endpoint":"https://gw.example.com/v1/metrics"},)"
                    R"("parameters":{}})");
    CHECK(b.call(verb::get, instances + "i-2/service_bindings/b-1").status == 404);
    CHECK(b.call(verb::get, binding + "/last_operation").status == 200);

    // The same bind again: 200 with a fresh key; the first one stops working.
    a = b.call(verb::put, binding, body);
    CHECK(a.status == 200);
    const std::string second(a.json_body().at("credentials").at("access_key").as_string());
    CHECK(second != key);
    CHECK_FALSE(b.service().directory().find_by_access_key(key));
    CHECK(b.service().directory().find_by_access_key(second));

    // Different attributes: 409, nothing changed.
    a = b.call(verb::put, binding, bind_body(forwarder_service, small_plan, "app-2"));
    CHECK(a.status == 409);
    CHECK(b.service().directory().find_by_access_key(second)->app_guid == "app-1");

    CHECK(b.call(verb::delete_, binding).status == 400);  // service_id/plan_id required
    a = b.call(verb::delete_, binding + "?service_id=s&plan_id=p");
    CHECK(a.status == 200);
    CHECK(a.body == "{}");
    CHECK_FALSE(b.service().directory().find_by_access_key(second));
    CHECK(b.call(verb::delete_, binding + "?service_id=s&plan_id=p").status == 410);
    CHECK(b.call(verb::get, binding).status == 404);
    CHECK(b.call(verb::get, binding + "/last_operation").status == 410);

    CHECK(b.counter("mgw_broker_access_keys_issued_total", {}) == 2);
    CHECK(b.counter("mgw_broker_access_keys_revoked_total", {}) == 2);
    CHECK(b.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 0);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "bind"}, {"code", "201"}}) == 1);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "unbind"}, {"code", "410"}}) == 1);
}

TEST_CASE("broker: bind rejections: 422 RequiresApp and parameters, 400 ids, 404 instance") {
    broker_fixture b;
    REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
                .status == 201);
    const std::string binding = instances + "i-1/service_bindings/b-1";
    auto a = b.call(verb::put, binding,
                    std::string(R"({"service_id":")") + forwarder_service + R"(","plan_id":")" +
                        forwarder_plan + R"("})");
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "RequiresApp");
    a = b.call(verb::put, binding,
               bind_body(forwarder_service, forwarder_plan, "app-1", R"({"rate":5})"));
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "InvalidParameters");
    a = b.call(verb::put, binding, bind_body(forwarder_service, small_plan, "app-1"));
    CHECK(a.status == 400);
    CHECK(a.json_body().at("description") == "service_id and plan_id must be the instance's");
    a = b.call(verb::put, instances + "i-404/service_bindings/b-1",
               bind_body(forwarder_service, forwarder_plan, "app-1"));
    CHECK(a.status == 404);
    CHECK(b.call(verb::put, binding, "[1,2]").status == 400);
    CHECK(b.call(verb::patch, binding, "{}").status == 405);
    CHECK(b.call(verb::get, "/broker/v2/nothing").status == 404);
    CHECK(b.call(verb::put, "/broker/v2/catalog", "{}").status == 405);
    CHECK(b.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 0);
}

TEST_CASE("broker: promfetcher bind sets the app's metrics path; unbind restores the default") {
    broker_fixture b;
    REQUIRE(
        b.call(verb::put, instances + "p-1", instance_body(promfetcher_service, promfetcher_plan))
            .status == 201);
    const std::string binding = instances + "p-1/service_bindings/pb-1";
    auto a = b.call(verb::put, binding,
                    bind_body(promfetcher_service, promfetcher_plan, "app-9",
                              R"({"endpoint":"/actuator/prometheus"})"));
    CHECK(a.status == 201);
    CHECK(a.body == R"({"credentials":{"endpoint":"/actuator/prometheus"}})");
    CHECK(b.service().custom_metric_path("app-9") == "/actuator/prometheus");
    CHECK_FALSE(b.service().custom_metric_path("app-1"));
    a = b.call(verb::get, binding);
    CHECK(a.status == 200);
    CHECK(a.json_body().at("credentials").at("endpoint") == "/actuator/prometheus");

    a = b.call(
        verb::put, instances + "p-1/service_bindings/pb-2",
        bind_body(promfetcher_service, promfetcher_plan, "app-9", R"({"endpoint":"metrics"})"));
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "InvalidParameters");

    CHECK(b.call(verb::delete_, binding + "?service_id=s&plan_id=p").status == 200);
    CHECK_FALSE(b.service().custom_metric_path("app-9"));
}

TEST_CASE("broker: deprovision removes the instance and revokes its bindings' keys") {
    broker_fixture b;
    REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
                .status == 201);
    auto a = b.call(verb::put, instances + "i-1/service_bindings/b-1",
                    bind_body(forwarder_service, forwarder_plan, "app-1"));
    REQUIRE(a.status == 201);
    const std::string key(a.json_body().at("credentials").at("access_key").as_string());
    CHECK(b.call(verb::delete_, instances + "i-1").status == 400);
    CHECK(b.call(verb::delete_, instances + "i-1?service_id=s&plan_id=p").status == 200);
    CHECK_FALSE(b.service().directory().find_by_access_key(key));
    CHECK(b.call(verb::delete_, instances + "i-1?service_id=s&plan_id=p").status == 410);
    CHECK(b.call(verb::get, instances + "i-1").status == 404);
    CHECK(b.counter("mgw_broker_instances", {}) == 0);
}

TEST_CASE("broker: instances, bindings, keys and paths survive a restart on the same file") {
    std::string dir_pattern =
        (std::filesystem::temp_directory_path() / "mgw-broker-service-XXXXXX").string();
    REQUIRE(::mkdtemp(dir_pattern.data()) != nullptr);
    const std::string db = dir_pattern + "/broker.db";
    std::string key;
    {
        broker_fixture b(db);
        REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, small_plan))
                    .status == 201);
        REQUIRE(b.call(verb::put, instances + "p-1",
                       instance_body(promfetcher_service, promfetcher_plan))
                    .status == 201);
        auto a = b.call(verb::put, instances + "i-1/service_bindings/b-1",
                        bind_body(forwarder_service, small_plan, "app-1"));
        REQUIRE(a.status == 201);
        key = a.json_body().at("credentials").at("access_key").as_string();
        REQUIRE(b.call(verb::put, instances + "p-1/service_bindings/pb-1",
                       bind_body(promfetcher_service, promfetcher_plan, "app-1",
                                 R"({"endpoint":"/prom"})"))
                    .status == 201);
    }
    {
        broker_fixture b(db);
        const auto found = b.service().directory().find_by_access_key(key);
        REQUIRE(found);
        CHECK(found->app_guid == "app-1");
        CHECK(found->limits.requests_per_minute == 60u);
        CHECK(found->labels.at("organization_name") == "org");
        CHECK(b.service().custom_metric_path("app-1") == "/prom");
        CHECK(b.call(verb::get, instances + "i-1").status == 200);
        CHECK(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, small_plan))
                  .status == 200);
        CHECK(b.call(verb::get, instances + "i-1/service_bindings/b-1").status == 200);
        CHECK(b.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 1);
        CHECK(b.counter("mgw_broker_bindings", {{"service", "promfetcher"}}) == 1);
        CHECK(b.call(verb::delete_, instances + "i-1/service_bindings/b-1?service_id=s&plan_id=p")
                  .status == 200);
    }
    {
        broker_fixture b(db);
        CHECK_FALSE(b.service().directory().find_by_access_key(key));
        CHECK(b.service().custom_metric_path("app-1") == "/prom");
    }
    std::filesystem::remove_all(dir_pattern);
}
