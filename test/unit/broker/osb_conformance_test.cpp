// Every MUST of Open Service Broker API 2.13 and 2.14 that applies to the operations this broker
// offers, as one table per lifecycle: request → status, body shape, headers, each row citing the
// section of the spec (openservicebrokerapi/servicebroker spec.md at the v2.13 / v2.14 tags)
// it holds the broker to. Rows run in order against one broker, as a platform would send them.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

#include "broker_fixture.hpp"

using namespace broker_test;
namespace json = boost::json;
using mgw::http::verb;

namespace {

// What the body must look like. `keys`: the members it must have (at least); `equals`: the
// exact JSON; `error`: the OSB error code in "error".
struct shape {
    std::string equals;
    std::vector<std::string> keys;
    std::string error;
    std::function<void(const json::object&)> check;
};

shape empty_object() {
    return {.equals = "{}", .keys = {}, .error = {}, .check = {}};
}
shape with_keys(std::vector<std::string> keys) {
    return {.equals = {}, .keys = std::move(keys), .error = {}, .check = {}};
}
shape error_code(std::string code) {
    return {.equals = {}, .keys = {"description"}, .error = std::move(code), .check = {}};
}
shape any_object() {
    return {.equals = {}, .keys = {}, .error = {}, .check = {}};
}
shape checked(std::function<void(const json::object&)> check) {
    return {.equals = {}, .keys = {}, .error = {}, .check = std::move(check)};
}

struct row {
    const char* spec;  // the section and the sentence the row holds the broker to
    verb method;
    std::string target;
    std::string body;
    int status;
    shape expect;
    const char* version = "2.14";
    std::map<std::string, std::string> extra_headers = {};
};

const std::string catalog = "/broker/v2/catalog";
const std::string fwd = instances + "fwd-1";
const std::string prom = instances + "prom-1";
const std::string fwd_binding = fwd + "/service_bindings/bind-1";
const std::string fwd_query =
    std::string("service_id=") + forwarder_service + "&plan_id=" + forwarder_plan;
const std::string prom_query =
    std::string("service_id=") + promfetcher_service + "&plan_id=" + promfetcher_plan;

std::string provision(const char* service, const char* plan, std::string extra = "") {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","organization_guid":"org-guid","space_guid":"space-guid",)"
           R"("context":{"platform":"cloudfoundry","organization_guid":"org-guid",)"
           R"("space_guid":"space-guid"})" +
           extra + "}";
}

std::string bind(const char* service, const char* plan, std::string extra = "") {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","bind_resource":{"app_guid":"app-1"},)"
           R"("context":{"platform":"cloudfoundry","space_guid":"space-guid"})" +
           extra + "}";
}

// base64({"user_id":"683ea748-3092-4ff4-b656-39cacc4d5360"}), the spec's example user.
const std::string identity =
    "cloudfoundry eyJ1c2VyX2lkIjoiNjgzZWE3NDgtMzA5Mi00ZmY0LWI2NTYtMzljYWNjNGQ1MzYwIn0=";

void run(broker_fixture& broker, const std::vector<row>& rows) {
    for (const row& r : rows) {
        INFO(r.spec);
        INFO(boost::beast::http::to_string(r.method) << " " << r.target << " " << r.body);
        std::map<std::string, std::string> headers{{"authorization", good_auth}};
        if (r.version != nullptr) {
            headers["x-broker-api-version"] = r.version;
        }
        for (const auto& [name, value] : r.extra_headers) {
            if (value.empty()) {
                headers.erase(name);
            } else {
                headers[name] = value;
            }
        }
        const answer a = broker.call(r.method, r.target, r.body, headers);
        CHECK(a.status == r.status);
        // OSB 2.14 "Content Type": responses with bodies SHOULD be application/json (checked by
        // the fixture); 2.13 "Broker Errors": "All response bodies MUST be a valid JSON Object".
        boost::system::error_code ec;
        const json::value value = json::parse(a.body, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(value.is_object());
        const json::object& object = value.get_object();
        // 2.14 "Service Broker Errors": error and description, if present, MUST be non-empty.
        for (const char* field : {"error", "description"}) {
            if (const json::value* v = object.if_contains(field)) {
                REQUIRE(v->is_string());
                CHECK_FALSE(v->get_string().empty());
            }
        }
        if (!r.expect.equals.empty()) {
            CHECK(value == json::parse(r.expect.equals));
        }
        for (const std::string& key : r.expect.keys) {
            INFO("member " << key);
            CHECK(object.contains(key));
        }
        if (!r.expect.error.empty()) {
            REQUIRE(object.contains("error"));
            CHECK(object.at("error") == r.expect.error.c_str());
        }
        if (r.expect.check) {
            r.expect.check(object);
        }
        if (a.status == 401) {
            CHECK(a.www_authenticate);
        }
        if (a.status == 405) {
            CHECK(a.allow);
        }
    }
}

}  // namespace

TEST_CASE("OSB conformance: authentication, version header, catalog") {
    broker_fixture broker;
    run(broker,
        {
            {"2.13/2.14 Authentication: the broker MUST return 401 if authentication fails",
             verb::get,
             catalog,
             "",
             401,
             with_keys({"description"}),
             "2.14",
             {{"authorization", ""}}},
            {"2.14 Authentication: 401 with wrong credentials (every request is authenticated)",
             verb::put,
             fwd,
             provision(forwarder_service, forwarder_plan),
             401,
             any_object(),
             "2.14",
             {{"authorization", "Basic YnJva2VyOndyb25n"}}},
            {"2.13/2.14 API Version Header: the broker MAY reject with 412 and tell the version",
             verb::get, catalog, "", 412, error_code("PreconditionFailed"), nullptr},
            {"2.14 API Version Header: MAJOR.MINOR; a major version it does not serve is refused",
             verb::get, catalog, "", 412, error_code("PreconditionFailed"), "3.0"},
            {"2.13 Catalog Management: 200 MUST be returned upon successful processing", verb::get,
             catalog, "", 200, with_keys({"services"}), "2.13"},
            {"2.14 Catalog Management: 200 MUST be returned upon successful processing", verb::get,
             catalog, "", 200, with_keys({"services"})},
            {"2.13 Broker Errors: any other failure: an appropriate code and a JSON object",
             verb::post, catalog, "{}", 405, any_object()},
            {"2.13 Broker Errors: an unknown endpoint is a JSON object too", verb::get,
             "/broker/v2/nothing", "", 404, any_object()},
        });
    // Nothing the refused requests asked for exists (4xx: "semantically unchanged").
    CHECK(broker.call(verb::get, fwd).status == 404);
}

TEST_CASE("OSB conformance: the catalog's MUSTs (2.13 and 2.14 Catalog Management)") {
    mgw::broker::broker_config config = test_config();
    broker_fixture broker(config);
    const answer a = broker.call(verb::get, catalog, "",
                                 {{"authorization", good_auth}, {"x-broker-api-version", "2.13"}});
    REQUIRE(a.status == 200);
    const json::value document = a.json_body();
    const json::array& services = document.at("services").as_array();
    REQUIRE_FALSE(services.empty());
    // 2.13: names "MUST only contain lowercase characters, numbers and hyphens"; 2.14 widens
    // this to alphanumerics, periods and hyphens: the intersection holds both.
    const auto cli_friendly = [](const json::string& name) {
        return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
    };
    std::set<std::string> service_names;
    std::set<std::string> ids;  // "MUST be globally unique": at least within this catalog
    for (const json::value& s : services) {
        const json::object& service = s.as_object();
        INFO(json::serialize(service.at("name")));
        CHECK(cli_friendly(service.at("name").as_string()));
        CHECK(service_names.insert(std::string(service.at("name").as_string())).second);
        CHECK_FALSE(service.at("id").as_string().empty());
        CHECK(ids.insert(std::string(service.at("id").as_string())).second);
        CHECK_FALSE(service.at("description").as_string().empty());
        CHECK(service.at("bindable").is_bool());
        CHECK(service.at("plan_updateable") == false);
        // "The only permissions currently supported are syslog_drain, route_forwarding and
        // volume_mount"; this broker needs none.
        CHECK(service.at("requires").as_array().empty());
        // Both retrieval endpoints are served for every plan (2.14 "Fetching ...": "MUST
        // support this endpoint for all plans of the service").
        CHECK(service.at("instances_retrievable") == true);
        CHECK(service.at("bindings_retrievable") == true);
        const json::array& plans = service.at("plans").as_array();
        CHECK_FALSE(plans.empty());  // "MUST contain at least one plan"
        std::set<std::string> plan_names;
        for (const json::value& p : plans) {
            const json::object& plan = p.as_object();
            CHECK(cli_friendly(plan.at("name").as_string()));
            CHECK(plan_names.insert(std::string(plan.at("name").as_string())).second);
            CHECK_FALSE(plan.at("id").as_string().empty());
            CHECK(ids.insert(std::string(plan.at("id").as_string())).second);
            CHECK_FALSE(plan.at("description").as_string().empty());
            CHECK_FALSE(plan.contains("schemas"));  // none: nothing to hold to JSON Schema rules
        }
    }
}

TEST_CASE("OSB conformance: provision, fetch, poll, update, deprovision") {
    broker_fixture broker;
    const std::string full = provision(forwarder_service, forwarder_plan);
    run(broker,
        {
            // Provisioning, request body.
            {"2.13/2.14 Provisioning: organization_guid* is REQUIRED; 400 MUST be returned if "
             "the request is missing mandatory data",
             verb::put, fwd,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 forwarder_plan + R"(","space_guid":"space-guid"})",
             400, error_code("BadRequest")},
            {"2.13/2.14 Provisioning: space_guid* is REQUIRED (400)", verb::put, fwd,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 forwarder_plan + R"(","organization_guid":"org-guid"})",
             400, error_code("BadRequest")},
            {"2.13/2.14 Provisioning: organization_guid MUST be a non-empty string (400)",
             verb::put, fwd,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 forwarder_plan + R"(","organization_guid":"","space_guid":"space-guid"})",
             400, error_code("BadRequest")},
            {"2.13/2.14 Provisioning: service_id* is REQUIRED (400)", verb::put, fwd,
             R"({"plan_id":"x","organization_guid":"o","space_guid":"s"})", 400,
             error_code("BadRequest")},
            {"2.13/2.14 Provisioning: plan_id* is REQUIRED (400)", verb::put, fwd,
             R"({"service_id":")" + std::string(forwarder_service) +
                 R"(","organization_guid":"o","space_guid":"s"})",
             400, error_code("BadRequest")},
            {"2.14 Provisioning: service_id MUST be the ID of a service from the catalog (400)",
             verb::put, fwd, provision("no-such-service", forwarder_plan), 400,
             error_code("BadRequest")},
            {"2.14 Provisioning: plan_id MUST be the ID of a plan from the service requested "
             "(400)",
             verb::put, fwd, provision(forwarder_service, promfetcher_plan), 400,
             error_code("BadRequest")},
            {"2.14 Content Type: an unprocessable body SHOULD get 400", verb::put, fwd, "{not json",
             400, error_code("BadRequest")},
            {"2.14 Originating Identity: the header's platform MUST equal context.platform",
             verb::put,
             fwd,
             full,
             400,
             error_code("BadRequest"),
             "2.14",
             {{"x-broker-api-originating-identity",
               "kubernetes eyJ1c2VyX2lkIjoiNjgzZWE3NDgtMzA5Mi00ZmY0LWI2NTYtMzljYWNjNGQ1MzYwIn0="}}},
            {"2.14 Instance fetch: 404 MUST be returned if the Service Instance does not exist "
             "(nothing was created by the 4xx above)",
             verb::get, fwd, "", 404, any_object()},
            // Provisioning, responses.
            {"2.13/2.14 Provisioning: 201 MUST be returned if the instance was provisioned; "
             "the body is a JSON object",
             verb::put,
             fwd + "?accepts_incomplete=true",
             full,
             201,
             empty_object(),
             "2.14",
             {{"x-broker-api-originating-identity", identity}}},
            {"2.13 Provisioning: 200 MUST (2.14: SHOULD) be returned if it already exists with "
             "identical parameters",
             verb::put, fwd, full, 200, empty_object(), "2.13"},
            {"2.13/2.14 Provisioning: 409 MUST be returned if it exists with different "
             "attributes",
             verb::put, fwd, provision(forwarder_service, small_plan), 409, any_object()},
            {"2.14 Vendor Extension Fields: unknown fields MUST be ignored, processing MUST NOT "
             "halt",
             verb::put, prom,
             provision(promfetcher_service, promfetcher_plan,
                       R"(,"x_vendor_field":{"a":[1,2]},"maintenance_info":{"version":"1"})"),
             201, empty_object()},
            {"2.13 Synchronous Operations: a synchronous broker may ignore accepts_incomplete",
             verb::put, instances + "sync-1?accepts_incomplete=false",
             provision(forwarder_service, small_plan), 201, empty_object(), "2.13"},
            // Fetching an instance (2.14).
            {"2.14 Fetching a Service Instance: 200 with service_id, plan_id, parameters",
             verb::get, fwd, "", 200, checked([](const json::object& o) {
                 CHECK(o.at("service_id") == forwarder_service);
                 // The 409 above changed nothing (4xx: "semantically unchanged").
                 CHECK(o.at("plan_id") == forwarder_plan);
                 CHECK(o.at("parameters").is_object());
             })},
            {"2.14 Fetching a Service Instance: the endpoint is 2.14's; earlier versions get 412",
             verb::get, fwd, "", 412, error_code("PreconditionFailed"), "2.13"},
            // Polling the last operation.
            {"2.13/2.14 Last Operation: 200 with state (succeeded: everything is synchronous)",
             verb::get, fwd + "/last_operation?" + fwd_query, "", 200,
             checked([](const json::object& o) { CHECK(o.at("state") == "succeeded"); }), "2.13"},
            {"2.13 Last Operation: service_id, if present, MUST be a non-empty string (400)",
             verb::get, fwd + "/last_operation?service_id=", "", 400, error_code("BadRequest")},
            {"2.14 Last Operation: plan_id, if present, MUST be the plan of the instance (400)",
             verb::get, fwd + "/last_operation?plan_id=" + small_plan, "", 400,
             error_code("BadRequest")},
            {"2.14 Last Operation: operation, if present, MUST be a non-empty string (400)",
             verb::get, fwd + "/last_operation?operation=", "", 400, error_code("BadRequest")},
            // Updating.
            {"2.14 Updating: service_id* is REQUIRED (400)", verb::patch, fwd,
             R"({"parameters":{"a":1}})", 400, error_code("BadRequest")},
            {"2.14 Updating: 422 MUST be returned if the requested change is not supported "
             "(plan_updateable is false)",
             verb::patch, fwd,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 small_plan + R"(","parameters":{"changed":true}})",
             422, error_code("PlanChangeNotSupported")},
            {"2.14 Updating: on a 4xx the broker MUST NOT apply any of the requested changes",
             verb::get, fwd, "", 200, checked([](const json::object& o) {
                 CHECK(o.at("plan_id") == forwarder_plan);
                 CHECK(o.at("parameters") == json::object{});
             })},
            {"2.13/2.14 Updating: 200 MUST be returned if the changes were applied; body {}",
             verb::patch,
             fwd,
             R"({"service_id":")" + std::string(forwarder_service) +
                 R"(","parameters":{"changed":true},"context":{"platform":"cloudfoundry"}})",
             200,
             empty_object(),
             "2.14",
             {{"x-broker-api-originating-identity", identity}}},
            {"2.14 Updating: without plan_id the broker MUST NOT change the plan", verb::get, fwd,
             "", 200, checked([](const json::object& o) {
                 CHECK(o.at("plan_id") == forwarder_plan);
                 CHECK(o.at("parameters") == json::object{{"changed", true}});
             })},
            {"2.14 Updating: without parameters the broker MUST NOT change the parameters",
             verb::patch, fwd, R"({"service_id":")" + std::string(forwarder_service) + R"("})", 200,
             empty_object()},
            {"2.14 Updating: (parameters kept)", verb::get, fwd, "", 200,
             checked([](const json::object& o) {
                 CHECK(o.at("parameters") == json::object{{"changed", true}});
             })},
            // Deprovisioning.
            {"2.13/2.14 Deprovisioning: service_id* is a REQUIRED query parameter (400)",
             verb::delete_, fwd + "?plan_id=" + forwarder_plan, "", 400, error_code("BadRequest")},
            {"2.13/2.14 Deprovisioning: plan_id* is a REQUIRED query parameter (400)",
             verb::delete_, fwd + "?service_id=" + forwarder_service, "", 400,
             error_code("BadRequest")},
            {"2.13 Deprovisioning: service_id MUST be a non-empty string (400)", verb::delete_,
             fwd + "?service_id=&plan_id=" + forwarder_plan, "", 400, error_code("BadRequest"),
             "2.13"},
            {"2.13 Deprovisioning: plan_id MUST be a non-empty string (400)", verb::delete_,
             fwd + "?service_id=" + forwarder_service + "&plan_id=", "", 400,
             error_code("BadRequest"), "2.13"},
            {"2.14 Deprovisioning: plan_id MUST be the ID of the plan of the instance (400)",
             verb::delete_, fwd + "?service_id=" + forwarder_service + "&plan_id=" + small_plan, "",
             400, error_code("BadRequest")},
            {"2.14 Errors: a 4xx leaves the instance as it was", verb::get, fwd, "", 200,
             with_keys({"service_id"})},
            {"2.13/2.14 Deprovisioning: 200 MUST be returned if deleted; body {}",
             verb::delete_,
             fwd + "?" + fwd_query + "&accepts_incomplete=true",
             "",
             200,
             empty_object(),
             "2.14",
             {{"x-broker-api-originating-identity", identity}}},
            {"2.13/2.14 Deprovisioning: 410 MUST be returned if it does not exist; (2.13) "
             "body {}",
             verb::delete_, fwd + "?" + fwd_query, "", 410, empty_object(), "2.13"},
            {"2.13 Last Operation: 410 for a deleted instance; body {}", verb::get,
             fwd + "/last_operation", "", 410, empty_object()},
        });
}

TEST_CASE("OSB conformance: bind, fetch, poll, unbind") {
    broker_fixture broker;
    REQUIRE(broker.call(verb::put, fwd, provision(forwarder_service, forwarder_plan)).status ==
            201);
    REQUIRE(broker.call(verb::put, prom, provision(promfetcher_service, promfetcher_plan)).status ==
            201);
    const std::string body = bind(forwarder_service, forwarder_plan);
    const std::string prom_binding = prom + "/service_bindings/pbind-1";
    run(broker,
        {
            {"2.13/2.14 Binding: 422 with error RequiresApp MUST be returned when app_guid is "
             "required and missing",
             verb::put, fwd_binding,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 forwarder_plan + R"("})",
             422, error_code("RequiresApp")},
            {"2.13/2.14 Binding: service_id* is REQUIRED (400)", verb::put, fwd_binding,
             R"({"plan_id":"p","bind_resource":{"app_guid":"a"}})", 400, error_code("BadRequest")},
            {"2.13/2.14 Binding: plan_id* is REQUIRED (400)", verb::put, fwd_binding,
             R"({"service_id":")" + std::string(forwarder_service) +
                 R"(","bind_resource":{"app_guid":"a"}})",
             400, error_code("BadRequest")},
            {"2.13 Binding: app_guid, if present, MUST be a non-empty string (400)", verb::put,
             fwd_binding,
             R"({"service_id":")" + std::string(forwarder_service) + R"(","plan_id":")" +
                 forwarder_plan + R"(","app_guid":""})",
             400, error_code("BadRequest"), "2.13"},
            {"2.14 Binding: the plan MUST be the one of the service being used (400)", verb::put,
             fwd_binding, bind(forwarder_service, promfetcher_plan), 400, error_code("BadRequest")},
            {"2.14 Fetching a Service Binding: 404 MUST be returned if it does not exist "
             "(the 4xx above created nothing)",
             verb::get, fwd_binding, "", 404, any_object()},
            {"2.13/2.14 Binding: 201 MUST be returned if the binding was created; credentials "
             "MUST be returned when the broker generates them",
             verb::put,
             fwd_binding + "?accepts_incomplete=true",
             body,
             201,
             checked([](const json::object& o) {
                 CHECK(o.at("credentials").at("endpoint") == "https://gw.example.com/v1/metrics");
                 CHECK(o.at("credentials").at("access_key").is_string());
             }),
             "2.14",
             {{"x-broker-api-originating-identity", identity}}},
            {"2.13 Binding: 200 MUST (2.14: SHOULD) be returned if it exists with identical "
             "parameters; the expected body (credentials) again",
             verb::put, fwd_binding, body, 200, with_keys({"credentials"}), "2.13"},
            {"2.13/2.14 Binding: 409 MUST be returned if it exists with different parameters",
             verb::put, fwd_binding,
             std::string(R"({"service_id":")") + forwarder_service + R"(","plan_id":")" +
                 forwarder_plan + R"(","bind_resource":{"app_guid":"app-2"}})",
             409, any_object()},
            {"2.14 Binding: a promfetcher binding generates no credentials but its endpoint",
             verb::put, prom_binding,
             bind(promfetcher_service, promfetcher_plan, R"(,"parameters":{"endpoint":"/m"})"), 201,
             checked([](const json::object& o) {
                 CHECK(o.at("credentials") == json::object{{"endpoint", "/m"}});
             })},
            // Fetching a binding and polling (2.14).
            {"2.14 Fetching a Service Binding: 200 with credentials and parameters", verb::get,
             fwd_binding, "", 200, with_keys({"credentials", "parameters"})},
            {"2.14 Fetching a Service Binding: the endpoint is 2.14's; earlier versions get 412",
             verb::get, fwd_binding, "", 412, error_code("PreconditionFailed"), "2.13"},
            {"2.14 Fetching a Service Binding: another instance's binding does not exist (404)",
             verb::get, prom + "/service_bindings/bind-1", "", 404, any_object()},
            {"2.14 Binding Last Operation: 200 with state", verb::get,
             fwd_binding + "/last_operation?" + fwd_query, "", 200,
             checked([](const json::object& o) { CHECK(o.at("state") == "succeeded"); })},
            {"2.14 Binding Last Operation: service_id, if present, MUST be non-empty (400)",
             verb::get, fwd_binding + "/last_operation?service_id=", "", 400,
             error_code("BadRequest")},
            {"2.14 Binding Last Operation: plan_id, if present, MUST be the binding's (400)",
             verb::get, fwd_binding + "/last_operation?plan_id=" + std::string(small_plan), "", 400,
             error_code("BadRequest")},
            // Unbinding.
            {"2.13/2.14 Unbinding: service_id* is a REQUIRED query parameter (400)", verb::delete_,
             fwd_binding + "?plan_id=" + forwarder_plan, "", 400, error_code("BadRequest")},
            {"2.13 Unbinding: service_id MUST be a non-empty string (400)", verb::delete_,
             fwd_binding + "?service_id=&plan_id=" + forwarder_plan, "", 400,
             error_code("BadRequest"), "2.13"},
            {"2.13 Unbinding: plan_id MUST be a non-empty string (400)", verb::delete_,
             fwd_binding + "?service_id=" + forwarder_service + "&plan_id=", "", 400,
             error_code("BadRequest"), "2.13"},
            {"2.14 Unbinding: service_id MUST be the ID of the binding's service (400)",
             verb::delete_,
             fwd_binding + "?service_id=" + promfetcher_service + "&plan_id=" + forwarder_plan, "",
             400, error_code("BadRequest")},
            {"2.14 Errors: a 4xx leaves the binding as it was", verb::get, fwd_binding, "", 200,
             with_keys({"credentials"})},
            {"2.13/2.14 Unbinding: 200 MUST be returned if deleted; body {}",
             verb::delete_,
             fwd_binding + "?" + fwd_query + "&accepts_incomplete=true",
             "",
             200,
             empty_object(),
             "2.14",
             {{"x-broker-api-originating-identity", identity}}},
            {"2.13/2.14 Unbinding: 410 MUST be returned if it does not exist; (2.13) body {}",
             verb::delete_, fwd_binding + "?" + fwd_query, "", 410, empty_object(), "2.13"},
            {"2.14 Binding Last Operation: 410 once the binding is gone", verb::get,
             fwd_binding + "/last_operation", "", 410, empty_object()},
            {"2.14 Unbinding: the promfetcher binding too", verb::delete_,
             prom_binding + "?" + prom_query, "", 200, empty_object()},
        });
    // The unbound key stopped working (2.14 "Unbinding": MUST delete any resources associated).
    CHECK(broker.counter("mgw_broker_bindings", {{"service", "metrics-forwarder"}}) == 0);
    CHECK_FALSE(broker.service().custom_metric_path("app-1"));
}

TEST_CASE("OSB conformance: the server's own 413 for an oversized body is an OSB error object") {
    mgw::http::router routes;
    mgw::core::logger log{mgw::core::log_level::error};
    prometheus::Registry registry;
    mgw::broker::broker_service service(test_config(), "https://gw/v1/metrics", log, registry);
    service.register_routes(routes);
    for (verb method : {verb::put, verb::patch, verb::delete_, verb::get}) {
        const auto match = routes.match(method, "/broker/v2/service_instances/i-1");
        REQUIRE(match.route != nullptr);
        // Every broker route has the same 64 KiB limit, whatever the method: one limit, on every
        // way a request reaches the broker.
        REQUIRE(match.route->options.body_limit == std::size_t{65536});
        REQUIRE(match.route->options.on_refused);
        mgw::http::response refusal(
            {.sink = nullptr, .gzip_accepted = false, .head_request = false, .gzip_min_bytes = 0});
        refusal.status(mgw::http::status::payload_too_large);
        header_map none;
        match.route->options.on_refused(none, refusal);
        CHECK(refusal.header("Content-Type") == "application/json");
        const json::value body = json::parse(refusal.body());
        CHECK(body.at("error") == "PayloadTooLarge");
        CHECK(body.at("description") == "request body larger than 65536 bytes");
    }
}
