// Request-target parsing: decoded path and query parameters, rejection of non origin-form.
#include "http/request_target.hpp"

#include <catch2/catch.hpp>

using mgw::http::parse_request_target;
using mgw::http::request_target;

TEST_CASE("parse_request_target decodes path and query") {
    request_target t;
    REQUIRE(
        parse_request_target("/v1/apps/my%20app/metrics?route_url=a.example.com%2Fx&b=1+2&c", t));
    CHECK(t.path == "/v1/apps/my app/metrics");
    REQUIRE(t.query.size() == 3);
    CHECK(t.query[0].first == "route_url");
    CHECK(t.query[0].second == "a.example.com/x");
    CHECK(t.query[1].second == "1 2");
    CHECK(t.query[2].first == "c");
    CHECK(t.query[2].second.empty());

    REQUIRE(parse_request_target("/metrics", t));
    CHECK(t.path == "/metrics");
    CHECK(t.query.empty());
}

TEST_CASE("parse_request_target rejects what is not origin-form") {
    request_target t;
    CHECK_FALSE(parse_request_target("metrics", t));
    CHECK_FALSE(parse_request_target("/a%zz", t));
    CHECK_FALSE(parse_request_target("/a b", t));
    CHECK_FALSE(parse_request_target("", t));
}
