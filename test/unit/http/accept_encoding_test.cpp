// Accept-Encoding negotiation for gzip.
#include "http/accept_encoding.hpp"

#include <catch2/catch.hpp>

using mgw::http::accepts_gzip;

TEST_CASE("accepts_gzip honours codings and q-values") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
    CHECK(accepts_gzip("GZIP"));
    CHECK(accepts_gzip("x-gzip"));
    CHECK(accepts_gzip("br;q=1, gzip ; q=0.001"));
    CHECK(accepts_gzip("*"));
    CHECK_FALSE(accepts_gzip(""));
    CHECK_FALSE(accepts_gzip("identity"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
    CHECK_FALSE(accepts_gzip("*, gzip;q=0"));
    CHECK_FALSE(accepts_gzip("*;q=0"));
    CHECK_FALSE(accepts_gzip("gzip;q=bogus"));
    CHECK_FALSE(accepts_gzip("gzipx"));
}
