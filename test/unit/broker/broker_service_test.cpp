// The OSB endpoints through their real HTTP handler (router match, request context, response),
// without sockets: the status-code matrix, the credentials, revocation, and a restart.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <sys/resource.h>

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
    // A header that is not a version is not echoed: bytes that are not UTF-8 would make the
    // answer invalid JSON.
    a = b.call(verb::get, "/broker/v2/catalog", "",
               {{"authorization", good_auth}, {"x-broker-api-version", "2.\xff"}});
    CHECK(a.status == 412);
    CHECK(a.json_body().at("description") ==
          "X-Broker-API-Version is not a version (expected 2.x)");

    a = b.call(verb::get, "/broker/v2/catalog", "",
               {{"authorization", good_auth}, {"x-broker-api-version", "2.11"}});
    CHECK(a.status == 200);
    CHECK(a.json_body().at("services").as_array().size() == 2);

    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "catalog"}, {"code", "401"}}) == 2);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "provision"}, {"code", "401"}}) ==
          1);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "catalog"}, {"code", "412"}}) == 3);
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

TEST_CASE("broker: forwarder bind returns endpoint and a working key, unbind revokes it") {
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

TEST_CASE("broker: promfetcher bind sets the app's metrics path, unbind restores the default") {
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

TEST_CASE("broker: DELETE with an empty service_id= or plan_id= deletes nothing (issue 11)") {
    // What the OSB conformance suite found: an empty required query parameter was taken as
    // present, and the instance or binding deleted (200). Both are REQUIRED, non-empty: 400.
    broker_fixture b;
    REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
                .status == 201);
    const std::string binding = instances + "i-1/service_bindings/b-1";
    REQUIRE(
        b.call(verb::put, binding, bind_body(forwarder_service, forwarder_plan, "app-1")).status ==
        201);
    for (const std::string& query : {std::string("?service_id=&plan_id=") + forwarder_plan,
                                     std::string("?service_id=") + forwarder_service + "&plan_id=",
                                     std::string("?service_id=&plan_id=")}) {
        INFO(query);
        CHECK(b.call(verb::delete_, binding + query).status == 400);
        CHECK(b.call(verb::delete_, instances + "i-1" + query).status == 400);
    }
    CHECK(b.call(verb::get, binding).status == 200);
    CHECK(b.call(verb::get, instances + "i-1").status == 200);
    CHECK(b.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 1);
}

namespace {

// Writes past `bytes` fail with EFBIG (SIGXFSZ ignored) while it lives: the database file
// behaves as a full disk would, in the middle of a request.
class file_size_limit {
  public:
    explicit file_size_limit(rlim_t bytes) {
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &previous_) == 0);
        rlimit limited = previous_;
        limited.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &previous_);
        std::signal(SIGXFSZ, previous_handler_);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

  private:
    rlimit previous_{};
    void (*previous_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("broker: SQLite failing mid-request is a 500, counted, and changes nothing") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    broker_fixture b(db);
    REQUIRE(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
                .status == 201);
    const std::string binding = instances + "i-1/service_bindings/b-1";
    {
        std::uintmax_t largest = std::filesystem::file_size(db);
        if (std::filesystem::exists(db + "-wal")) {
            largest = std::max(largest, std::filesystem::file_size(db + "-wal"));
        }
        const file_size_limit full(static_cast<rlim_t>(largest));
        auto a = b.call(verb::put, binding, bind_body(forwarder_service, forwarder_plan, "app-1"));
        CHECK(a.status == 500);
        CHECK(a.json_body().at("description").as_string().starts_with("binding store failed: "));
        a = b.call(verb::put, instances + "i-2", instance_body(forwarder_service, forwarder_plan));
        CHECK(a.status == 500);
        // Reads still work, and show that nothing was half done.
        CHECK(b.call(verb::get, binding).status == 404);
        CHECK(b.call(verb::get, instances + "i-2").status == 404);
    }
    CHECK(b.counter("mgw_broker_store_errors_total", {}) == 2);
    CHECK(b.counter("mgw_broker_requests_total", {{"operation", "bind"}, {"code", "500"}}) == 1);
    CHECK(b.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 0);
    CHECK(b.counter("mgw_broker_access_keys_issued_total", {}) == 0);
    // Space back: the same requests succeed, on the same connection.
    auto a = b.call(verb::put, binding, bind_body(forwarder_service, forwarder_plan, "app-1"));
    REQUIRE(a.status == 201);
    const std::string key(a.json_body().at("credentials").at("access_key").as_string());
    CHECK(b.service().directory().find_by_access_key(key));
    CHECK(b.call(verb::put, instances + "i-2", instance_body(forwarder_service, forwarder_plan))
              .status == 201);
}

TEST_CASE("broker: a bind that adopts an instance and then fails leaves neither behind") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    broker_fixture b(db);
    {
        std::uintmax_t largest = std::filesystem::file_size(db);
        if (std::filesystem::exists(db + "-wal")) {
            largest = std::max(largest, std::filesystem::file_size(db + "-wal"));
        }
        const file_size_limit full(static_cast<rlim_t>(largest));
        CHECK(b.call(verb::put, instances + "old-1/service_bindings/b-1",
                     bind_body(promfetcher_service, promfetcher_plan, "app-1",
                               R"({"endpoint":"/m"})"))
                  .status == 500);
    }
    CHECK(b.call(verb::get, instances + "old-1").status == 404);
    CHECK_FALSE(b.service().custom_metric_path("app-1"));
}

TEST_CASE("broker: instances and bindings are capped (broker.max_instances / max_bindings)") {
    mgw::broker::broker_config config = test_config();
    config.max_instances = 2;
    config.max_bindings = 2;
    broker_fixture b(config);
    CHECK(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
              .status == 201);
    CHECK(b.call(verb::put, instances + "i-2", instance_body(forwarder_service, forwarder_plan))
              .status == 201);
    auto a = b.call(verb::put, instances + "i-3", instance_body(forwarder_service, forwarder_plan));
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "InstanceLimitReached");
    CHECK(a.json_body().at("description") ==
          "this broker holds at most 2 instances (broker.max_instances)");
    // A repeat of an existing instance is still answered (it adds nothing).
    CHECK(b.call(verb::put, instances + "i-1", instance_body(forwarder_service, forwarder_plan))
              .status == 200);
    // Adoption counts as an instance too.
    CHECK(b.call(verb::put, instances + "old-1/service_bindings/b-0",
                 bind_body(forwarder_service, forwarder_plan, "app-0"))
              .json_body()
              .at("error") == "InstanceLimitReached");
    for (const char* id : {"b-1", "b-2"}) {
        CHECK(b.call(verb::put, instances + "i-1/service_bindings/" + id,
                     bind_body(forwarder_service, forwarder_plan, "app-1"))
                  .status == 201);
    }
    a = b.call(verb::put, instances + "i-2/service_bindings/b-3",
               bind_body(forwarder_service, forwarder_plan, "app-1"));
    CHECK(a.status == 422);
    CHECK(a.json_body().at("error") == "BindingLimitReached");
    CHECK(b.counter("mgw_broker_limit_refusals_total", {{"limit", "max_instances"}}) == 2);
    CHECK(b.counter("mgw_broker_limit_refusals_total", {{"limit", "max_bindings"}}) == 1);
    // Unbinding makes room again.
    CHECK(b.call(verb::delete_, instances + "i-1/service_bindings/b-1" + fwd_query).status == 200);
    CHECK(b.call(verb::put, instances + "i-2/service_bindings/b-3",
                 bind_body(forwarder_service, forwarder_plan, "app-1"))
              .status == 201);
}

TEST_CASE("broker: where the state lives (broker.database, systemd's STATE_DIRECTORY)") {
    using mgw::broker::database_path;
    CHECK(database_path("/var/lib/gw/broker.db", "/var/lib/metrics-gateway") ==
          "/var/lib/gw/broker.db");
    CHECK(database_path("", "/var/lib/metrics-gateway") == "/var/lib/metrics-gateway/broker.db");
    // Several StateDirectory= entries: the first is the unit's own.
    CHECK(database_path("", "/var/lib/metrics-gateway:/var/lib/other") ==
          "/var/lib/metrics-gateway/broker.db");
    CHECK(database_path("", nullptr).empty());  // a run by hand: in memory, as before
    CHECK(database_path("", "").empty());
    CHECK(database_path(":memory:", "/var/lib/metrics-gateway").empty());
}
