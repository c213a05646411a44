// Unit tests: route key normalisation and path unescaping.
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

TEST_CASE("path_unescape decodes %XX and rejects malformed escapes") {
    CHECK(path_unescape("org%2Fspace%2Fapp") == std::optional<std::string>("org/space/app"));
    CHECK(path_unescape("a+b%20c") == std::optional<std::string>("a+b c"));
    CHECK(path_unescape("plain") == std::optional<std::string>("plain"));
    CHECK_FALSE(path_unescape("bad%2").has_value());
    CHECK_FALSE(path_unescape("bad%zz").has_value());
    CHECK_FALSE(path_unescape("%").has_value());
}
