// Redirect policy: same scheme, host and port only.
#include "scrape/redirect.hpp"

#include <catch2/catch.hpp>

using namespace mgw::scrape;

namespace {

scrape_target target(bool tls = false, std::uint16_t port = 8080) {
    scrape_target t;
    t.host = "10.0.16.12";
    t.port = port;
    t.tls = tls;
    return t;
}

}  // namespace

TEST_CASE("relative redirects resolve against the current path") {
    const auto t = target();
    CHECK(resolve_redirect(t, "/metrics", "/actuator/prometheus") == "/actuator/prometheus");
    CHECK(resolve_redirect(t, "/a/b/metrics", "other") == "/a/b/other");
    CHECK(resolve_redirect(t, "/a/b/metrics", "../x?y=1") == "/a/x?y=1");
    CHECK(resolve_redirect(t, "/metrics?x=1", "?format=text") == "/metrics?format=text");
    CHECK(resolve_redirect(t, "/metrics", "/") == "/");
}

TEST_CASE("absolute redirects are followed only to the same scheme, host and port") {
    const auto t = target();
    CHECK(resolve_redirect(t, "/m", "http://10.0.16.12:8080/metrics/") == "/metrics/");
    CHECK(resolve_redirect(t, "/m", "HTTP://10.0.16.12:8080/x?q") == "/x?q");
    CHECK(resolve_redirect(t, "/m", "http://10.0.16.12:8080") == "/");
    CHECK_FALSE(resolve_redirect(t, "/m", "http://10.0.16.13:8080/metrics"));
    CHECK_FALSE(resolve_redirect(t, "/m", "http://10.0.16.12:8081/metrics"));
    CHECK_FALSE(resolve_redirect(t, "/m", "http://10.0.16.12/metrics"));  // port 80
    CHECK_FALSE(resolve_redirect(t, "/m", "https://10.0.16.12:8080/metrics"));
    CHECK_FALSE(resolve_redirect(t, "/m", "//evil.example.com/metrics"));
    CHECK_FALSE(resolve_redirect(t, "/m", "http://10.0.16.12:8080@evil.example.com/"));
    CHECK_FALSE(resolve_redirect(t, "/m", "http://[::1]:8080/"));
    CHECK_FALSE(resolve_redirect(t, "/m", "http://bad host/"));
}

TEST_CASE("default ports count as the same authority") {
    CHECK(resolve_redirect(target(false, 80), "/m", "http://10.0.16.12/x") == "/x");
    CHECK(resolve_redirect(target(true, 443), "/m", "https://10.0.16.12/x") == "/x");
    CHECK(resolve_redirect(target(true, 443), "/m", "https://10.0.16.12:443/x") == "/x");
    CHECK_FALSE(resolve_redirect(target(true, 443), "/m", "http://10.0.16.12/x"));
}

TEST_CASE("host names compare case-insensitively, IPv6 literals work") {
    scrape_target t = target();
    t.host = "App.Internal";
    CHECK(resolve_redirect(t, "/m", "http://app.internal:8080/x") == "/x");
    t.host = "::1";
    CHECK(resolve_redirect(t, "/m", "http://[::1]:8080/x") == "/x");
    CHECK_FALSE(resolve_redirect(t, "/m", "http://[::2]:8080/x"));
}
