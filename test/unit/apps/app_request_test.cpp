// Request parsing of the Promfetcher-compatible paths, without sockets.
#include <stdexcept>

#include <catch2/catch.hpp>

#include <mgw/apps/app_request.hpp>

namespace {

using query_list = std::vector<std::pair<std::string, std::string>>;

mgw::apps::app_request parse_ok(std::string_view path, const query_list& query = {}) {
    auto result = mgw::apps::parse_app_request(path, query);
    REQUIRE(result.has_value());
    return std::move(*result);
}

mgw::apps::app_request_error parse_error(std::string_view path, const query_list& query = {}) {
    auto result = mgw::apps::parse_app_request(path, query);
    REQUIRE(result.has_error());
    return result.error();
}

}  // namespace

TEST_CASE("identifier in the path may contain slashes") {
    const auto request = parse_ok("/v1/apps/org/space/app/metrics");
    CHECK(request.api_version == 1);
    CHECK(request.identifier == "org/space/app");
    CHECK(request.metric_path == "/metrics");
    CHECK_FALSE(request.only_app_metrics);
}

TEST_CASE("only-app-metrics in the path and as only_from_app") {
    CHECK(parse_ok("/v2/apps/0d1b5a3e-1c1d-4a7f-9f0a-1b2c3d4e5f60/only-app-metrics")
              .only_app_metrics);
    const auto request = parse_ok("/v2/apps/my-app.example.com/metrics", {{"only_from_app", ""}});
    CHECK(request.only_app_metrics);
    CHECK(request.identifier == "my-app.example.com");
    CHECK(request.api_version == 2);
}

TEST_CASE("scope=local asks for this node's series only, another scope is refused") {
    CHECK_FALSE(parse_ok("/v2/apps/a/b/c/metrics").local_only);
    CHECK(parse_ok("/v2/apps/a/b/c/metrics", {{"scope", "local"}}).local_only);
    CHECK_FALSE(parse_ok("/v2/apps/a/b/c/metrics", {{"scope", "cluster"}}).local_only);
    const auto refused = mgw::apps::parse_app_request("/v2/apps/a/b/c/metrics", {{"scope", "all"}});
    REQUIRE(refused.has_error());
    CHECK(refused.error().status == 400);
    CHECK(refused.error().body == "400 Bad Request: scope must be local or cluster");
    CHECK(refused.error().code == mgw::apps::errc::invalid_scope);
}

TEST_CASE("identifier from the query: app first, then route_url, quotes stripped") {
    CHECK(parse_ok("/v1/apps/metrics", {{"app", "\"org/space/app\""}}).identifier ==
          "org/space/app");
    CHECK(parse_ok("/v1/apps/metrics", {{"route_url", "app.example.com/"}}).identifier ==
          "app.example.com/");
    CHECK(parse_ok("/v2/apps/only-app-metrics", {{"app", "a"}, {"route_url", "b"}}).identifier ==
          "a");
    CHECK(parse_ok("/v3/apps/metrics", {{"app", "x"}}).api_version == 2);
}

TEST_CASE("no identifier is Promfetcher's 400") {
    const auto error = parse_error("/v1/apps/metrics");
    CHECK(error.status == 400);
    CHECK(error.body == "400 Bad Request: You must set app id or path");
    CHECK(error.code == mgw::apps::errc::missing_identifier);
    CHECK(parse_error("/v1/apps/metrics", {{"app", "\"\""}}).status == 400);
}

TEST_CASE("paths of no known form are 404") {
    for (const char* path : {"/v1/app/x/metrics", "/va/apps/x/metrics", "/v1/apps/x/other",
                             "/apps/x/metrics", "/v/apps/x/metrics"}) {
        INFO(path);
        CHECK(parse_error(path).status == 404);
        CHECK(parse_error(path).code == mgw::apps::errc::unknown_path);
    }
}

TEST_CASE("metric_path must be a path on the instance") {
    CHECK(parse_ok("/v2/apps/a/metrics", {{"metric_path", " /actuator/prometheus "}}).metric_path ==
          "/actuator/prometheus");
    CHECK(parse_ok("/v2/apps/a/metrics", {{"metric_path", "custom?x=1"}}).metric_path ==
          "/custom?x=1");
    CHECK(parse_ok("/v2/apps/a/metrics", {{"metric_path", ""}}).metric_path == "/metrics");
    for (const char* bad : {"http://evil.example/metrics", "//evil.example/metrics", "HTTPS://x/",
                            "/a b", "/a\r\nHost: x", "\\\\host\\share", "javascript:alert(1)"}) {
        INFO(bad);
        const auto error = parse_error("/v2/apps/a/metrics", {{"metric_path", bad}});
        CHECK(error.status == 400);
        CHECK(error.code == mgw::apps::errc::invalid_metric_path);
    }
}

TEST_CASE("normalise_metric_path keeps colons that are not a scheme") {
    CHECK(mgw::apps::normalise_metric_path("/a:b").value() == "/a:b");
    CHECK(mgw::apps::normalise_metric_path("a/b:c").value() == "/a/b:c");
    CHECK_FALSE(mgw::apps::normalise_metric_path("a:b").has_value());
}

TEST_CASE("request errors are error codes of the category mgw.apps") {
    using mgw::apps::errc;
    const auto& category = mgw::apps::error_category();
    CHECK(std::string_view(category.name()) == "mgw.apps");
    CHECK(category.message(static_cast<int>(errc::unknown_path)) ==
          "the path is not one of the app metrics endpoints");
    CHECK(category.message(static_cast<int>(errc::missing_identifier)) ==
          "the request names no app");
    CHECK(category.message(static_cast<int>(errc::invalid_metric_path)) ==
          "metric_path is not a path on the app instance");
    CHECK(category.message(static_cast<int>(errc::invalid_scope)) ==
          "scope is neither local nor cluster");
    CHECK(category.message(0) == "unknown apps error");
    const boost::system::error_code code = errc::unknown_path;  // an error_code enum
    CHECK(&code.category() == &category);
    // value() on a refusal throws with the body the client would get.
    CHECK_THROWS_WITH(mgw::apps::parse_app_request("/v1/apps/metrics", {}).value(),
                      "400 Bad Request: You must set app id or path");
    CHECK_THROWS_AS(mgw::apps::parse_app_request("/v1/app/x", {}).value(), std::invalid_argument);
}
