// Router precedence: exact before prefix, longest prefix first, 405 with Allow, HEAD via GET,
// fallback for everything else.
#include <catch2/catch.hpp>

#include <mgw/http/router.hpp>

namespace {

using mgw::http::request_context;
using mgw::http::response;
using mgw::http::route_match;
using mgw::http::router;
using mgw::http::verb;

// Distinct handlers are told apart by the route they come with (pattern and name).
boost::asio::awaitable<void> noop(request_context&, response&) {
    co_return;
}

router sample() {
    router r;
    r.add(verb::get, "/metrics", noop);
    r.add(verb::post, "/v1/metrics", noop, mgw::http::route_options("push"));
    r.add_prefix(verb::get, "/v1/apps/", noop);
    r.add_prefix(verb::get, "/v1/apps/special/", noop, mgw::http::route_options("special"));
    r.add_prefix(verb::put, "/broker/v2/", noop);
    r.add_prefix(verb::delete_, "/broker/v2/", noop);
    return r;
}

}  // namespace

TEST_CASE("router matches exact paths and names routes by pattern by default") {
    auto r = sample();
    auto m = r.match(verb::get, "/metrics");
    REQUIRE(m.result == route_match::kind::found);
    CHECK(m.route->pattern == "/metrics");
    CHECK(m.route->options.name == "/metrics");
    CHECK(r.match(verb::get, "/metrics/").result == route_match::kind::not_found);
    CHECK(r.match(verb::get, "/metric").result == route_match::kind::not_found);
    CHECK(r.match(verb::post, "/v1/metrics").route->options.name == "push");
}

TEST_CASE("router prefers the longest prefix") {
    auto r = sample();
    auto m = r.match(verb::get, "/v1/apps/special/x/metrics");
    REQUIRE(m.result == route_match::kind::found);
    CHECK(m.route->options.name == "special");
    m = r.match(verb::get, "/v1/apps/org/space/app/metrics");
    REQUIRE(m.result == route_match::kind::found);
    CHECK(m.route->options.name == "/v1/apps/*");
    CHECK(r.match(verb::get, "/v1/apps").result == route_match::kind::not_found);
}

TEST_CASE("router answers 405 with the allowed methods for a known path") {
    auto r = sample();
    auto m = r.match(verb::delete_, "/metrics");
    REQUIRE(m.result == route_match::kind::method_not_allowed);
    CHECK(m.allow == "GET, HEAD");
    m = r.match(verb::get, "/broker/v2/service_instances/1");
    REQUIRE(m.result == route_match::kind::method_not_allowed);
    CHECK(m.allow == "PUT, DELETE");
    CHECK(r.match(verb::put, "/broker/v2/service_instances/1").result == route_match::kind::found);
}

TEST_CASE("router serves HEAD with the GET route") {
    auto r = sample();
    auto m = r.match(verb::head, "/metrics");
    REQUIRE(m.result == route_match::kind::found);
    CHECK(m.route->method == verb::get);
    CHECK(r.match(verb::head, "/v1/apps/a/metrics").route->pattern == "/v1/apps/");
    CHECK(r.match(verb::head, "/v1/metrics").result == route_match::kind::method_not_allowed);
}

TEST_CASE("router fallback takes unknown paths, any method") {
    router r;
    r.add(verb::get, "/health", noop);
    r.set_fallback(noop, mgw::http::route_options("health"));
    CHECK(r.match(verb::post, "/anything").route->options.name == "health");
    CHECK(r.match(verb::get, "/").route->options.name == "health");
    CHECK(r.match(verb::get, "/health").route->options.name == "/health");
    CHECK(r.match(verb::post, "/health").result == route_match::kind::method_not_allowed);
}
