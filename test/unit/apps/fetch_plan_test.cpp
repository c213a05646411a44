// Unit tests: the fetch plan of an app answer, built from a request as http/ decoded it and a
// route snapshot, without a socket: which instances in which order, their labels and targets,
// the identifier unescaped exactly once, forwarded headers, Accept and the deadline.
#include "apps/fetch_plan.hpp"

#include <map>

#include <catch2/catch.hpp>

#include <mgw/exposition/content_type.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/scrape/request_headers.hpp>

using namespace mgw;
using namespace mgw::apps;
using namespace std::chrono_literals;

namespace {

using clock = std::chrono::steady_clock;

const routes::route_clock::time_point t0{std::chrono::hours(1000)};
constexpr const char* cart_guid = "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f";

routes::registry_message instance(std::string host, std::string index, std::string uri,
                                  std::string app_id = cart_guid) {
    routes::registry_message m;
    m.host = std::move(host);
    m.port = 8080;
    m.uris = {std::move(uri)};
    m.app = app_id;
    m.private_instance_id = "inst-" + index;
    m.private_instance_index = index;
    m.tags = {{"app_id", app_id},      {"app_name", "cart"},          {"space_name", "dev"},
              {"space_id", "space-1"}, {"organization_name", "acme"}, {"organization_id", "org-1"},
              {"process_type", "web"}, {"instance_id", index}};
    return m;
}

std::shared_ptr<const routes::route_snapshot> fleet() {
    routes::route_table table;  // the snapshot outlives it
    // Registered out of order: the plan orders instances by index.
    table.register_endpoint(instance("10.0.0.3", "2", "cart.apps.example.com"), t0);
    table.register_endpoint(instance("10.0.0.1", "0", "cart.apps.example.com"), t0);
    table.register_endpoint(instance("10.0.0.2", "1", "cart.apps.example.com"), t0);
    // A route whose name holds an escape sequence once decoded.
    routes::registry_message other =
        instance("10.0.0.9", "0", "a%41.example.com", "7e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f");
    other.tags["app_name"] = "other";
    table.register_endpoint(other, t0);
    return table.publish();
}

class headers final : public http::request_context::header_source {
  public:
    explicit headers(std::map<std::string, std::string> fields) : fields_(std::move(fields)) {}
    std::optional<std::string_view> find(std::string_view name) const override {
        const auto it = fields_.find(std::string(name));
        return it == fields_.end() ? std::nullopt : std::optional<std::string_view>(it->second);
    }

  private:
    std::map<std::string, std::string> fields_;
};

struct request {
    headers fields;
    http::request_context context;

    request(std::string path, std::vector<std::pair<std::string, std::string>> query,
            std::map<std::string, std::string> header_fields = {},
            clock::time_point deadline = clock::time_point::max())
        : fields(std::move(header_fields)),
          context(http::request_context::init{.method = http::verb::get,
                                              .method_string = "GET",
                                              .target = "/",
                                              .path = std::move(path),
                                              .query = std::move(query),
                                              .body = nullptr,
                                              .headers = &fields,
                                              .remote = {},
                                              .deadline = deadline}) {}
};

const clock::time_point now{std::chrono::hours(10)};

fetch_plan plan_ok(const request& r, const app_metrics_options& options = {},
                   const metric_path_lookup& lookup = {}) {
    auto planned = plan_fetch(r.context, *fleet(), options, lookup, now);
    REQUIRE(planned.has_value());
    return std::move(*planned);
}

}  // namespace

TEST_CASE("the plan lists the app's instances in index order with their labels and targets") {
    const request r("/v2/apps/acme/dev/cart/metrics", {{"metric_path", "/prom"}});
    const fetch_plan plan = plan_ok(r);
    CHECK(plan.shown == "acme/dev/cart");
    REQUIRE(plan.endpoints.size() == 3);
    REQUIRE(plan.labels.size() == 3);
    REQUIRE(plan.targets.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string host = "10.0.0." + std::to_string(i + 1);
        CHECK(plan.targets[i].host == host);
        CHECK(plan.targets[i].port == 8080);
        CHECK(plan.targets[i].path == "/prom");
        CHECK(plan.labels[i].value(6) == std::to_string(i));           // index
        CHECK(plan.labels[i].value(8) == plan.endpoints[i]->address);  // instance
    }
    CHECK(plan.metric_path == "/prom");
    CHECK(plan.app_guid == cart_guid);
    CHECK(plan.first() == plan.endpoints.front().get());
    REQUIRE(plan.apps.size() == 1);
    const app_query query = plan.query();
    CHECK(query.identifier == "acme/dev/cart");
    CHECK(query.app_guid == cart_guid);
    CHECK(query.tags == &plan.endpoints.front()->tags);
    CHECK(plan.accept == exposition::promfetcher_v2_accept);
    CHECK_FALSE(plan.app.only_app_metrics);
}

TEST_CASE("an identifier is unescaped exactly once") {
    // The path as http/ decoded it (the client sent a%2541.example.com): not decoded again.
    const request path_form("/v1/apps/a%41.example.com/metrics", {});
    const fetch_plan by_path = plan_ok(path_form);
    CHECK(by_path.shown == "a%41.example.com");
    REQUIRE(by_path.endpoints.size() == 1);
    CHECK(by_path.endpoints.front()->host == "10.0.0.9");
    CHECK(by_path.accept == exposition::promfetcher_v1_accept);

    // A query value (http/ decoded `app=acme%252Fdev%252Fcart` to this) is unescaped once more,
    // as Promfetcher does.
    const request query_form("/v2/apps/only-app-metrics", {{"app", "acme%2Fdev%2Fcart"}});
    const fetch_plan by_query = plan_ok(query_form);
    CHECK(by_query.shown == "acme/dev/cart");
    CHECK(by_query.endpoints.size() == 3);
    CHECK(by_query.app.only_app_metrics);

    // Malformed escapes in a query value are kept as given.
    const request malformed("/v2/apps/metrics", {{"route_url", "nope%zz.example.com"}});
    const fetch_plan unknown = plan_ok(malformed);
    CHECK(unknown.shown == "nope%zz.example.com");
    CHECK(unknown.endpoints.empty());
    CHECK(unknown.targets.empty());
    CHECK(unknown.first() == nullptr);
    CHECK(unknown.app_guid.empty());
    CHECK(unknown.query().tags == nullptr);
}

TEST_CASE("an app no instance serves keeps its GUID in the canonical spelling") {
    const request r("/v2/apps/{ABCDEF01-2345-6789-ABCD-EF0123456789}/metrics", {});
    const fetch_plan plan = plan_ok(r);
    CHECK(plan.endpoints.empty());
    CHECK(plan.app_guid == "abcdef01-2345-6789-abcd-ef0123456789");
}

TEST_CASE("requests of no known form are the parser's 404 and 400") {
    const request unknown_form("/v2/apps/acme/dev/cart/other", {});
    auto planned = plan_fetch(unknown_form.context, *fleet(), {}, {}, now);
    REQUIRE(planned.has_error());
    CHECK(planned.error().status == 404);
    CHECK(planned.error().code == mgw::apps::errc::unknown_path);
    const request no_identifier("/v2/apps/metrics", {});
    planned = plan_fetch(no_identifier.context, *fleet(), {}, {}, now);
    REQUIRE(planned.has_error());
    CHECK(planned.error().body == "400 Bad Request: You must set app id or path");
    CHECK(planned.error().code == mgw::apps::errc::missing_identifier);
}

TEST_CASE("only the configured headers are forwarded") {
    const request r("/v2/apps/acme/dev/cart/metrics", {},
                    {{"Authorization", "Bearer t"}, {"Cookie", "c=1"}, {"X-Custom", "x"}});
    app_metrics_options options;
    CHECK(plan_ok(r, options).headers == scrape::header_list{{"Authorization", "Bearer t"}});
    options.forward_headers = {"X-Custom", "Authorization"};
    CHECK(plan_ok(r, options).headers ==
          scrape::header_list{{"X-Custom", "x"}, {"Authorization", "Bearer t"}});
    options.forward_headers = {};
    CHECK(plan_ok(r, options).headers.empty());
}

TEST_CASE("the deadline: configured, lowered by the scraper's header, within the request's") {
    app_metrics_options options;
    options.scrape_timeout = 10s;
    const request plain("/v2/apps/acme/dev/cart/metrics", {});
    CHECK(plan_ok(plain, options).deadline == now + 10s);
    const request lowered("/v2/apps/acme/dev/cart/metrics", {},
                          {{"X-Prometheus-Scrape-Timeout-Seconds", "4"}});
    CHECK(plan_ok(lowered, options).deadline < now + 10s);
    CHECK(plan_ok(lowered, options).deadline > now);
    const request hurried("/v2/apps/acme/dev/cart/metrics", {}, {}, now + 2s);
    CHECK(plan_ok(hurried, options).deadline == now + 2s - scrape::scrape_timeout_margin);
}

TEST_CASE("a path the app registered replaces /metrics, an explicit metric_path wins") {
    const metric_path_lookup lookup = [](std::string_view guid) -> std::optional<std::string> {
        if (guid == cart_guid) {
            return "actuator/prometheus";
        }
        return std::nullopt;
    };
    const request registered("/v2/apps/acme/dev/cart/metrics", {});
    const fetch_plan plan = plan_ok(registered, {}, lookup);
    CHECK(plan.metric_path == "/actuator/prometheus");
    CHECK(plan.targets.front().path == "/actuator/prometheus");
    const request explicit_path("/v2/apps/acme/dev/cart/metrics", {{"metric_path", "/m"}});
    CHECK(plan_ok(explicit_path, {}, lookup).metric_path == "/m");
    const request unbound("/v2/apps/acme/dev/cart/metrics", {});
    CHECK(plan_ok(unbound).metric_path == "/metrics");
}
