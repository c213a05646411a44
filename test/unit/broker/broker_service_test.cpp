// The OSB endpoints through their real HTTP handler (router match, request context, response),
// without sockets: the status-code matrix, the credentials, revocation, and a restart.
#include "broker_fixture.hpp"

using namespace broker_test;
namespace json = boost::json;
using mgw::http::verb;

namespace {

const std::string fwd_query =
    std::string("?service_id=") + forwarder_service + "&plan_id=" + forwarder_plan;
const std::string fwd_small_query =
    std::string("?service_id=") + forwarder_service + "&plan_id=" + small_plan;
const std::string prom_query =
    std::string("?service_id=") + promfetcher_service + "&plan_id=" + promfetcher_plan;

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
    a = b.call(verb::delete_, binding + fwd_small_query);
    CHECK(a.status == 200);
    CHECK(a.body == "{}");
    CHECK_FALSE(b.service().directory().find_by_access_key(second));
    CHECK(b.call(verb::delete_, binding + fwd_small_query).status == 410);
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

    CHECK(b.call(verb::delete_, binding + prom_query).status == 200);
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
    CHECK(b.call(verb::delete_, instances + "i-1" + fwd_query).status == 200);
    CHECK_FALSE(b.service().directory().find_by_access_key(key));
    CHECK(b.call(verb::delete_, instances + "i-1" + fwd_query).status == 410);
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
        CHECK(b.call(verb::delete_, instances + "i-1/service_bindings/b-1" + fwd_small_query)
                  .status == 200);
    }
    {
        broker_fixture b(db);
        CHECK_FALSE(b.service().directory().find_by_access_key(key));
        CHECK(b.service().custom_metric_path("app-1") == "/prom");
    }
    std::filesystem::remove_all(dir_pattern);
}

TEST_CASE("broker: a bind to an instance it never provisioned adopts it (registration takeover)") {
    broker_fixture b;
    // The instance was provisioned by the broker whose registration the gateway took over
    // (Promfetcher's kept none): the Cloud Controller binds to it as if nothing changed.
    auto a = b.call(
        verb::put, instances + "old-1/service_bindings/b-1",
        bind_body(promfetcher_service, promfetcher_plan, "app-1", R"({"endpoint":"/prometheus"})"));
    CHECK(a.status == 201);
    CHECK(b.service().custom_metric_path("app-1") == "/prometheus");
    a = b.call(verb::get, instances + "old-1");
    CHECK(a.status == 200);
    CHECK(a.json_body().at("plan_id") == promfetcher_plan);
    CHECK(b.counter("mgw_broker_instances_adopted_total", {}) == 1);
    // The adopted instance is now an instance like any other.
    CHECK(b.call(verb::put, instances + "old-1/service_bindings/b-2",
                 bind_body(promfetcher_service, promfetcher_plan, "app-2"))
              .status == 201);
    CHECK(b.counter("mgw_broker_instances_adopted_total", {}) == 1);
    CHECK(b.call(verb::delete_, instances + "old-1/service_bindings/b-1" + prom_query).status ==
          200);
    CHECK(b.call(verb::delete_, instances + "old-1/service_bindings/b-2" + prom_query).status ==
          200);
    CHECK(b.call(verb::delete_, instances + "old-1" + prom_query).status == 200);
    // A refused bind adopts nothing (4xx: nothing changed).
    a = b.call(verb::put, instances + "old-2/service_bindings/b-3",
               bind_body(forwarder_service, forwarder_plan, "app-1", R"({"x":1})"));
    CHECK(a.status == 422);
    CHECK(b.call(verb::get, instances + "old-2").status == 404);
}
