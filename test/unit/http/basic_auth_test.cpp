// Basic auth of the operator and platform endpoints (/routes, the broker).
#include <catch2/catch.hpp>

#include <mgw/http/basic_auth.hpp>

TEST_CASE("basic auth accepts exactly the configured credentials") {
    const mgw::http::basic_credentials credentials{"admin", "s3cret"};
    // base64("admin:s3cret")
    CHECK(mgw::http::basic_auth_matches("Basic YWRtaW46czNjcmV0", credentials));
    CHECK(mgw::http::basic_auth_matches("basic YWRtaW46czNjcmV0", credentials));
    CHECK_FALSE(mgw::http::basic_auth_matches("Basic YWRtaW46czNjcmV1", credentials));
    CHECK_FALSE(mgw::http::basic_auth_matches("Basic YWRtaW46czNjcmV0AA", credentials));
    CHECK_FALSE(mgw::http::basic_auth_matches("Bearer YWRtaW46czNjcmV0", credentials));
    CHECK_FALSE(mgw::http::basic_auth_matches("", credentials));
}

TEST_CASE("no configured user means nobody gets in") {
    CHECK_FALSE(mgw::http::basic_auth_matches("Basic Og==", {"", ""}));  // ":"
}
