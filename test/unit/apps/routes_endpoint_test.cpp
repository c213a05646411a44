// Basic auth of GET /routes.
#include <catch2/catch.hpp>

#include <mgw/apps/routes_endpoint.hpp>

TEST_CASE("basic auth accepts exactly the configured credentials") {
    const mgw::apps::basic_credentials credentials{"admin", "s3cret"};
    // base64("admin:s3cret")
    CHECK(mgw::apps::basic_auth_matches("Basic YWRtaW46czNjcmV0", credentials));
    CHECK(mgw::apps::basic_auth_matches("basic YWRtaW46czNjcmV0", credentials));
    CHECK_FALSE(mgw::apps::basic_auth_matches("Basic YWRtaW46czNjcmV1", credentials));
    CHECK_FALSE(mgw::apps::basic_auth_matches("Basic YWRtaW46czNjcmV0AA", credentials));
    CHECK_FALSE(mgw::apps::basic_auth_matches("Bearer YWRtaW46czNjcmV0", credentials));
    CHECK_FALSE(mgw::apps::basic_auth_matches("", credentials));
}

TEST_CASE("no configured user means nobody gets in") {
    CHECK_FALSE(mgw::apps::basic_auth_matches("Basic Og==", {"", ""}));  // ":"
}
