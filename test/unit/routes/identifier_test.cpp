// Unit tests: route key normalisation, UUID forms and path unescaping.
#include <catch2/catch.hpp>

#include <mgw/routes/identifier.hpp>

using namespace mgw::routes;

TEST_CASE("normalise_uri lower-cases, cuts at ? and strips one trailing slash") {
    CHECK(normalise_uri("My-App.Example.COM") == "my-app.example.com");
    CHECK(normalise_uri("app.example.com/Path/?X=Y") == "app.example.com/path");
    CHECK(normalise_uri("app.example.com/a/") == "app.example.com/a");
    CHECK(normalise_uri("app.example.com//") == "app.example.com/");
    CHECK(normalise_uri("?only-query") == "");
    CHECK(normalise_uri("") == "");
}

TEST_CASE("is_uuid accepts the forms of google/uuid Parse") {
    CHECK(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15"));
    CHECK(is_uuid("{a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15}"));
    CHECK(is_uuid("urn:uuid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("URN:UUID:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("a758f25d2a3b4c5d8e9fde3aabcd9e15"));
    CHECK_FALSE(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e1"));
    CHECK_FALSE(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e1g"));
    CHECK_FALSE(is_uuid("a758f25d_2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK_FALSE(is_uuid("(a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15)"));
    CHECK_FALSE(is_uuid("urn:uid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK_FALSE(is_uuid("my-app.example.com"));
    CHECK_FALSE(is_uuid(""));
}

TEST_CASE("path_unescape decodes %XX and rejects malformed escapes") {
    CHECK(path_unescape("org%2Fspace%2Fapp") == std::optional<std::string>("org/space/app"));
    CHECK(path_unescape("a+b%20c") == std::optional<std::string>("a+b c"));
    CHECK(path_unescape("plain") == std::optional<std::string>("plain"));
    CHECK_FALSE(path_unescape("bad%2").has_value());
    CHECK_FALSE(path_unescape("bad%zz").has_value());
    CHECK_FALSE(path_unescape("%").has_value());
}
