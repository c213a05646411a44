// Decoding of OSB paths, version headers and bodies: every rejection with its status and text.
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <mgw/broker/osb_request.hpp>

using namespace mgw::broker;

namespace {

template <typename T>
osb_error error_of(const boost::system::result<T, osb_error>& decoded) {
    REQUIRE(decoded.has_error());
    return decoded.error();
}

}  // namespace

TEST_CASE("X-Broker-API-Version is <major>.<minor>") {
    REQUIRE(parse_api_version("2.14"));
    CHECK(parse_api_version("2.14")->major == 2);
    CHECK(parse_api_version("2.14")->minor == 14);
    CHECK(parse_api_version("3.0")->major == 3);
    for (const char* bad : {"", "2", "2.", ".14", "2.14.1", "two.14", "2.x", " 2.14", "-2.1"}) {
        INFO(bad);
        CHECK_FALSE(parse_api_version(bad));
    }
}

TEST_CASE("broker paths") {
    auto p = parse_broker_path("/broker/v2/catalog");
    REQUIRE(p);
    CHECK(p->what == broker_path::kind::catalog);

    p = parse_broker_path("/broker/v2/service_instances/i-1");
    REQUIRE(p);
    CHECK(p->what == broker_path::kind::instance);
    CHECK(p->instance_id == "i-1");

    p = parse_broker_path("/broker/v2/service_instances/i-1/last_operation");
    REQUIRE(p);
    CHECK(p->what == broker_path::kind::instance_last_operation);

    p = parse_broker_path("/broker/v2/service_instances/i-1/service_bindings/b-1");
    REQUIRE(p);
    CHECK(p->what == broker_path::kind::binding);
    CHECK(p->instance_id == "i-1");
    CHECK(p->binding_id == "b-1");

    p = parse_broker_path("/broker/v2/service_instances/i-1/service_bindings/b-1/last_operation");
    REQUIRE(p);
    CHECK(p->what == broker_path::kind::binding_last_operation);

    for (const char* bad :
         {"/broker/v2/", "/broker/v2/catalog/", "/broker/v2/service_instances",
          "/broker/v2/service_instances/", "/broker/v2/service_instances/i-1/",
          "/broker/v2/service_instances/i 1", "/broker/v2/service_instances/i-1/other",
          "/broker/v2/service_instances/i-1/service_bindings",
          "/broker/v2/service_instances/i-1/service_bindings/",
          "/broker/v2/service_instances/i-1/service_bindings/b-1/x",
          "/broker/v2/service_instances/i-1/service_bindings/b-1/last_operation/x",
          "/broker/v1/catalog", "/v2/catalog"}) {
        INFO(bad);
        CHECK_FALSE(parse_broker_path(bad));
    }
    CHECK_FALSE(parse_broker_path("/broker/v2/service_instances/" + std::string(256, 'a')));
    CHECK(parse_broker_path("/broker/v2/service_instances/" + std::string(255, 'a')));
}

TEST_CASE("provision bodies") {
    const auto decoded = decode_provision(R"({
        "service_id": "svc", "plan_id": "plan", "organization_guid": "org", "space_guid": "space",
        "context": {"platform": "cloudfoundry", "organization_name": "o", "space_name": "s",
                    "organization_annotations": {"a": "b"}, "secret": "dropped"},
        "parameters": {"b": 1, "a": {"y": 2, "x": [1, {"d": 0, "c": 0}]}}})");
    REQUIRE(decoded.has_value());
    const provision_request& r = *decoded;
    CHECK(r.service_id == "svc");
    CHECK(r.plan_id == "plan");
    CHECK(r.organization_guid == "org");
    CHECK(r.space_guid == "space");
    CHECK(r.context == context_fields{{"platform", "cloudfoundry"},
                                      {"organization_name", "o"},
                                      {"space_name", "s"}});
    // Canonical: keys sorted at every depth, so re-PUTs compare equal whatever the order.
    CHECK(r.parameters == R"({"a":{"x":[1,{"c":0,"d":0}],"y":2},"b":1})");

    const auto minimal = decode_provision(
        R"({"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"sp"})");
    REQUIRE(minimal.has_value());
    CHECK(minimal->parameters == "{}");
    // OSB 2.13 and 2.14 "Provisioning": organization_guid and space_guid are REQUIRED.
    CHECK(error_of(decode_provision(R"({"service_id":"s","plan_id":"p","space_guid":"sp"})"))
              .description == "organization_guid is required");
    CHECK(error_of(decode_provision(R"({"service_id":"s","plan_id":"p","organization_guid":"o"})"))
              .description == "space_guid is required");
    CHECK(
        error_of(decode_provision(
                     R"({"service_id":"s","plan_id":"p","organization_guid":"","space_guid":"x"})"))
            .status == 400);
    // Parameters are kept, and returned by GET: 4 KiB at most.
    const std::string big = R"({"service_id":"s","plan_id":"p","organization_guid":"o",)"
                            R"("space_guid":"sp","parameters":{"x":")" +
                            std::string(4096, 'x') + R"("}})";
    CHECK(error_of(decode_provision(big)).status == 422);
    CHECK(error_of(decode_provision(big)).error == "InvalidParameters");

    CHECK(
        error_of(decode_provision("")).description.starts_with("request body is not valid JSON: "));
    CHECK(error_of(decode_provision("{")).status == 400);
    CHECK(error_of(decode_provision("[]")).description == "request body must be a JSON object");
    CHECK(error_of(decode_provision(R"({"plan_id":"p"})")).description == "service_id is required");
    CHECK(error_of(decode_provision(R"({"service_id":"s"})")).description == "plan_id is required");
    CHECK(error_of(decode_provision(R"({"service_id":1,"plan_id":"p"})")).description ==
          "service_id must be a string");
    CHECK(error_of(decode_provision(R"({"service_id":"","plan_id":"p"})")).description ==
          "service_id must be 1 to 255 visible ASCII characters");
    CHECK(
        error_of(
            decode_provision(
                R"({"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s","parameters":[]})"))
            .description == "parameters must be an object");
    CHECK(
        error_of(
            decode_provision(
                R"({"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s","context":"x"})"))
            .description == "context must be an object");
    const osb_error e = error_of(decode_provision("nope"));
    CHECK(e.status == 400);
    CHECK(e.error == "BadRequest");

    CHECK(
        error_of(
            decode_provision(
                R"({"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"s","parameters":{"a":[1e999]}})"))
            .description == "parameters hold a number out of range");

    // Deep nesting stops at 32 levels, as a 400.
    std::string deep = R"({"service_id":"s","plan_id":"p","parameters":)";
    deep += std::string(100, '[') + std::string(100, ']') + "}";
    CHECK(error_of(decode_provision(deep)).status == 400);
}

TEST_CASE("bind bodies: the app comes from bind_resource or the deprecated app_guid") {
    auto decoded = decode_bind(
        R"({"service_id":"s","plan_id":"p","bind_resource":{"app_guid":"app-1"},
            "context":{"space_guid":"sp"}})");
    REQUIRE(decoded.has_value());
    CHECK(decoded->app_guid == "app-1");
    CHECK(decoded->context.at("space_guid") == "sp");

    decoded = decode_bind(R"({"service_id":"s","plan_id":"p","app_guid":"app-2"})");
    REQUIRE(decoded.has_value());
    CHECK(decoded->app_guid == "app-2");

    // Both, naming the same app: fine; naming two apps: which one the key pushes for is not
    // guessed.
    decoded = decode_bind(
        R"({"service_id":"s","plan_id":"p","app_guid":"app-2","bind_resource":{"app_guid":"app-2"}})");
    REQUIRE(decoded.has_value());
    CHECK(error_of(decode_bind(R"({"service_id":"s","plan_id":"p","app_guid":"app-2",)"
                               R"("bind_resource":{"app_guid":"app-3"}})"))
              .description == "app_guid and bind_resource.app_guid name different apps");

    const osb_error no_app = error_of(decode_bind(R"({"service_id":"s","plan_id":"p"})"));
    CHECK(no_app.status == 422);
    CHECK(no_app.error == "RequiresApp");
    CHECK(error_of(decode_bind(R"({"service_id":"s","plan_id":"p","bind_resource":{"route":"r"}})"))
              .error == "RequiresApp");
    CHECK(error_of(decode_bind(R"({"service_id":"s","plan_id":"p","bind_resource":[]})"))
              .description == "bind_resource must be an object");
    CHECK(
        error_of(decode_bind(R"({"service_id":"s","plan_id":"p","bind_resource":{"app_guid":5}})"))
            .description == "bind_resource.app_guid must be a string");
    CHECK(error_of(decode_bind(R"({"service_id":"s","plan_id":"p","app_guid":"a","parameters":1})"))
              .status == 400);
}

TEST_CASE("update bodies") {
    auto decoded = decode_update(R"({"service_id":"s","plan_id":"p2","parameters":{"x":1}})");
    REQUIRE(decoded.has_value());
    CHECK(decoded->plan_id == "p2");
    CHECK(decoded->parameters == R"({"x":1})");
    decoded = decode_update(R"({"service_id":"s"})");
    REQUIRE(decoded.has_value());
    CHECK_FALSE(decoded->plan_id);
    CHECK_FALSE(decoded->parameters);
    CHECK(error_of(decode_update(R"({"plan_id":"p"})")).description == "service_id is required");
}

TEST_CASE("promfetcher bind parameters: {\"endpoint\": \"/path\"}") {
    const auto path_of = [](std::string_view parameters) {
        const auto decoded = decode_promfetcher_endpoint(parameters);
        REQUIRE(decoded.has_value());
        return *decoded;
    };
    CHECK(path_of(R"({"endpoint":"/actuator/prometheus"})") == "/actuator/prometheus");
    CHECK(path_of(R"({"endpoint":"/metrics?format=prometheus"})") == "/metrics?format=prometheus");
    CHECK(path_of("{}").empty());
    CHECK(path_of(R"({"endpoint":""})").empty());
    CHECK(path_of(R"({"endpoint":null})").empty());

    for (const char* bad : {R"({"endpoint":"metrics"})", R"({"endpoint":"//evil.example.com/x"})",
                            R"({"endpoint":"/a b"})", R"({"endpoint":"/a\nb"})",
                            R"({"endpoint":"/a#b"})", R"({"endpoint":"http://x/metrics"})"}) {
        INFO(bad);
        const osb_error e = error_of(decode_promfetcher_endpoint(bad));
        CHECK(e.status == 422);
        CHECK(e.error == "InvalidParameters");
        CHECK(e.description.starts_with("endpoint must be a path starting with /"));
    }
    CHECK(error_of(decode_promfetcher_endpoint(R"({"endpoint":5})")).description ==
          "endpoint must be a string");
    CHECK(error_of(decode_promfetcher_endpoint(R"({"path":"/x"})")).description ==
          R"(unknown parameter "path" (promfetcher takes {"endpoint": "/path"}))");
    CHECK(error_of(decode_promfetcher_endpoint(R"({"endpoint":"/)" + std::string(255, 'a') + "\"}"))
              .status == 422);
}

TEST_CASE("metrics-forwarder bind parameters: none") {
    CHECK(check_forwarder_parameters("{}").has_value());
    const auto checked = check_forwarder_parameters(R"({"rate":1})");
    REQUIRE(checked.has_error());
    const osb_error& e = checked.error();
    CHECK(e.status == 422);
    CHECK(e.description == R"(unknown parameter "rate" (metrics-forwarder takes no parameters))");
}

TEST_CASE("OSB error bodies") {
    CHECK(
        (osb_error{.status = 422, .error = "RequiresApp", .description = "needs \"app\""}.json()) ==
        R"({"description":"needs \"app\"","error":"RequiresApp"})");
    CHECK((osb_error{.status = 400, .error = "", .description = "x"}.json()) ==
          R"({"description":"x"})");
}

TEST_CASE("context values are kept to 255 bytes, cut on a UTF-8 character boundary") {
    // 254 ASCII bytes then "\u00e9" (2 bytes): cutting at 255 would split it.
    const std::string name = std::string(254, 'a') + "\xc3\xa9" + "tail";
    const auto decoded = decode_provision(
        R"({"service_id":"s","plan_id":"p","organization_guid":"o","space_guid":"sp",)"
        R"("context":{"space_name":")" +
        name + R"("}})");
    REQUIRE(decoded.has_value());
    CHECK(decoded->context.at("space_name") == std::string(254, 'a'));
}

TEST_CASE(
    "X-Broker-API-Originating-Identity: Platform base64(JSON object), checked, never trusted") {
    // base64({"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360"})
    const std::string value =
        "eyJ1c2VyX2lkIjoiNjgzZWE3NDgtMzA5Mi00ZmY0LWI2NTYtMzljYWNjNGQ1MzYwIn0=";
    auto decoded = decode_originating_identity("cloudfoundry " + value, "cloudfoundry");
    REQUIRE(decoded.has_value());
    const auto& identity = *decoded;
    REQUIRE(identity);
    CHECK(identity->platform == "cloudfoundry");
    CHECK(identity->user_id == "683ea748-3092-4ff4-b656-39cacc4d5360");

    CHECK_FALSE(*decode_originating_identity(std::nullopt, "cloudfoundry"));
    // base64("{}"): no user, still well formed.
    CHECK(decode_originating_identity("kubernetes e30=", "")->value().user_id.empty());

    // Malformed: 400, whatever it claims.
    for (const std::string& bad : std::vector<std::string>{
             std::string(""), std::string("cloudfoundry"), " " + value, "cloudfoundry not-base64!",
             std::string("cloudfoundry e30"), std::string("cloudfoundry W10="),  // "[]"
             std::string("cloudfoundry eyJ1c2VyX2lkIjoxfQ=="),                   // user_id 1
             "cloudfoundry " + std::string(4096, 'A')}) {
        INFO(bad);
        const auto error = error_of(decode_originating_identity(bad, ""));
        CHECK(error.status == 400);
        CHECK(error.description.starts_with("X-Broker-API-Originating-Identity "));
    }
    // OSB: the platform MUST equal context.platform when the body has a context.
    CHECK(
        error_of(decode_originating_identity("kubernetes " + value, "cloudfoundry")).description ==
        R"(X-Broker-API-Originating-Identity names platform "kubernetes" but context.platform )"
        R"(is "cloudfoundry")");
}

TEST_CASE(
    "DELETE and last_operation query ids: required or optional, never empty, the resource's") {
    CHECK(check_query_id("service_id", "svc", true, "svc").has_value());
    CHECK(check_query_id("service_id", "svc", true, "").has_value());
    CHECK(check_query_id("plan_id", std::nullopt, false, "plan").has_value());
    CHECK(check_query_id("plan_id", std::nullopt, true, "").error().description ==
          "plan_id query parameter required");
    CHECK(check_query_id("plan_id", "", true, "").error().description ==
          "plan_id query parameter must not be empty");
    CHECK(check_query_id("operation", "", false, "").error().status == 400);
    CHECK(check_query_id("service_id", "other", true, "svc").error().description ==
          "service_id does not name this resource's service");
    CHECK(check_query_id("plan_id", "other", false, "plan").error().description ==
          "plan_id does not name this resource's plan");
    // Whatever bytes a client sends, the answer is JSON (the value is never echoed).
    const auto checked = check_query_id("plan_id", "\xdc\xff", true, "plan");
    REQUIRE(checked.has_error());
    CHECK(boost::json::parse(checked.error().json()).at("error") == "BadRequest");
}

TEST_CASE("broker errors are error codes of the category mgw.broker") {
    const auto& category = mgw::broker::error_category();
    CHECK(std::string_view(category.name()) == "mgw.broker");
    CHECK(category.message(static_cast<int>(errc::bad_request)) == "the request is malformed");
    CHECK(category.message(static_cast<int>(errc::invalid_parameters)) ==
          "the service parameters are invalid");
    CHECK(category.message(static_cast<int>(errc::requires_app)) ==
          "the service supports app bindings only");
    CHECK(category.message(static_cast<int>(errc::payload_too_large)) ==
          "the request body is too large");
    CHECK(category.message(static_cast<int>(errc::precondition_failed)) ==
          "the X-Broker-API-Version header is missing or too old");
    CHECK(category.message(0) == "unknown broker error");
    const boost::system::error_code code = errc::requires_app;
    CHECK(&code.category() == &category);

    // The kind travels with the status and body it stands for.
    CHECK(error_of(decode_provision("{")).code == errc::bad_request);
    CHECK(error_of(decode_bind(R"({"service_id":"s","plan_id":"p"})")).code == errc::requires_app);
    CHECK(error_of(decode_promfetcher_endpoint(R"({"endpoint":5})")).code ==
          errc::invalid_parameters);
    CHECK(check_forwarder_parameters(R"({"rate":1})").error().code == errc::invalid_parameters);
    CHECK(check_query_id("plan_id", "", true, "").error().code == errc::bad_request);
}
