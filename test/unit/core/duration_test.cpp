// Go-style duration strings: accepted spellings, rejected ones, and formatting back.
#include <catch2/catch.hpp>

#include <mgw/core/duration.hpp>

using mgw::core::format_duration;
using mgw::core::parse_duration;
using std::chrono::milliseconds;

TEST_CASE("parse_duration accepts Go duration strings", "[duration]") {
    CHECK(parse_duration("0") == milliseconds{0});
    CHECK(parse_duration("0s") == milliseconds{0});
    CHECK(parse_duration("500ms") == milliseconds{500});
    CHECK(parse_duration("10s") == milliseconds{10'000});
    CHECK(parse_duration("5m") == milliseconds{300'000});
    CHECK(parse_duration("1h") == milliseconds{3'600'000});
    CHECK(parse_duration("1m30s") == milliseconds{90'000});
    CHECK(parse_duration("1h2m3s4ms") == milliseconds{3'723'004});
    CHECK(parse_duration("1.5s") == milliseconds{1'500});
    CHECK(parse_duration(".25s") == milliseconds{250});
    CHECK(parse_duration("0.001h") == milliseconds{3'600});
    CHECK(parse_duration("2000000ns") == milliseconds{2});
    CHECK(parse_duration("1500us") == milliseconds{1});
    CHECK(parse_duration("1500\xc2\xb5s") == milliseconds{1});
    CHECK(parse_duration("999999ns") == milliseconds{0});
}

TEST_CASE("parse_duration rejects malformed and negative strings", "[duration]") {
    for (const char* text :
         {"", "10", "10x", "s", "ms", "1.s5", "-5s", "+5s", "5 s", " 5s", "5s ", "1h-5m", "1.2.3s",
          "5sec", "10S", "1d", "99999999999999999999h", "3000000h"}) {
        INFO(text);
        CHECK_FALSE(parse_duration(text).has_value());
    }
}

TEST_CASE("format_duration writes the shortest spelling that parses back", "[duration]") {
    CHECK(format_duration(milliseconds{0}) == "0s");
    CHECK(format_duration(milliseconds{500}) == "500ms");
    CHECK(format_duration(milliseconds{10'000}) == "10s");
    CHECK(format_duration(milliseconds{90'000}) == "1m30s");
    CHECK(format_duration(milliseconds{3'600'000}) == "1h");
    CHECK(format_duration(milliseconds{3'601'500}) == "1h1.5s");
    CHECK(format_duration(milliseconds{1'250}) == "1.25s");
    CHECK(format_duration(milliseconds{-1'500}) == "-1.5s");
    for (long long ms : {1LL, 999LL, 1'000LL, 61'001LL, 86'400'000LL, 123'456'789LL}) {
        INFO(ms);
        CHECK(parse_duration(format_duration(milliseconds{ms})) == milliseconds{ms});
    }
}
