// Request-target parsing: decoded path and query parameters, rejection of non origin-form.
#include "http/request_target.hpp"

#include <catch2/catch.hpp>

using mgw::http::parse_request_target;
using mgw::http::request_target;

TEST_CASE("parse_request_target decodes path and query") {
    const auto parsed =
        parse_request_target("/v1/apps/my%20app/metrics?route_url=a.example.com%2Fx&b=1+2&c");
    REQUIRE(parsed.has_value());
    const request_target& t = *parsed;
    CHECK(t.path == "/v1/apps/my app/metrics");
    REQUIRE(t.query.size() == 3);
    CHECK(t.query[0].first == "route_url");
    CHECK(t.query[0].second == "a.example.com/x");
    CHECK(t.query[1].second == "1 2");
    CHECK(t.query[2].first == "c");
    CHECK(t.query[2].second.empty());

    const auto plain = parse_request_target("/metrics");
    REQUIRE(plain.has_value());
    CHECK(plain->path == "/metrics");
    CHECK(plain->query.empty());
}

TEST_CASE("parse_request_target rejects what is not origin-form") {
    for (const char* target : {"metrics", "/a%zz", "/a b", ""}) {
        INFO(target);
        const auto parsed = parse_request_target(target);
        REQUIRE(parsed.has_error());
        // Boost.URL's own code says which rule failed; the http module passes it on.
        CHECK(parsed.error().failed());
    }
}
