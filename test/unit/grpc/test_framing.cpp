// The pure pieces of the gRPC layer: message framing, grpc-timeout, status and grpc-message
// encoding, the ping policy and the frame budget.
#include <catch2/catch.hpp>

#include <mgw/grpc/frame_budget.hpp>
#include <mgw/grpc/message_framing.hpp>
#include <mgw/grpc/ping_policy.hpp>
#include <mgw/grpc/status.hpp>

#include "grpc/timeout.hpp"

using namespace mgw::grpc;
using namespace std::chrono_literals;

TEST_CASE("a framed message is the flag, the big-endian length and the payload") {
    const std::string framed = frame_message("abc");
    REQUIRE(framed == std::string("\0\0\0\0\3abc", 8));
    const std::string big = frame_message(std::string(0x010203, 'x'));
    CHECK(big.substr(0, 5) == std::string("\0\0\x01\x02\x03", 5));
    CHECK(big.size() == 5 + 0x010203);
}

TEST_CASE("the message reader reassembles messages split anywhere") {
    const std::string stream = frame_message("hello") + frame_message("") + frame_message("world!");
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        message_reader reader(1024);
        std::vector<std::string> got;
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            std::string_view piece = std::string_view(stream).substr(at, chunk);
            while (!piece.empty() || reader.has_message()) {
                piece.remove_prefix(reader.feed(piece));
                if (reader.has_message()) {
                    got.push_back(reader.take_message());
                } else {
                    break;
                }
            }
        }
        REQUIRE(got == std::vector<std::string>{"hello", "", "world!"});
        CHECK(reader.partial_bytes() == 0);
    }
}

TEST_CASE("the message reader refuses a message over the limit from its prefix alone") {
    message_reader reader(4);
    const std::string prefix = frame_message("12345").substr(0, 5);
    CHECK(reader.feed(prefix) == 5);
    CHECK(reader.failure() == message_reader::error::too_large);
    CHECK(reader.announced_bytes() == 5);
    CHECK(reader.feed("12345") == 0);
    CHECK_FALSE(reader.has_message());
}

TEST_CASE("the message reader refuses compressed messages and unknown flags") {
    message_reader compressed(100);
    compressed.feed(std::string("\1\0\0\0\1x", 6));
    CHECK(compressed.failure() == message_reader::error::compressed);
    message_reader flag(100);
    flag.feed(std::string("\2\0\0\0\1x", 6));
    CHECK(flag.failure() == message_reader::error::bad_flag);
}

TEST_CASE("grpc-timeout parses every unit and refuses malformed values") {
    CHECK(parse_timeout("45S") == std::chrono::nanoseconds(45s));
    CHECK(parse_timeout("44999940u") == std::chrono::nanoseconds(44999940us));
    CHECK(parse_timeout("1H") == std::chrono::nanoseconds(1h));
    CHECK(parse_timeout("2M") == std::chrono::nanoseconds(2min));
    CHECK(parse_timeout("100m") == std::chrono::nanoseconds(100ms));
    CHECK(parse_timeout("7n") == std::chrono::nanoseconds(7));
    // 11,000 years does not fit in 64-bit nanoseconds: saturated, not overflowed.
    CHECK(parse_timeout("99999999H") == std::chrono::nanoseconds::max());
    CHECK(parse_timeout("2562047H") == std::chrono::nanoseconds(2562047h));
    CHECK_FALSE(parse_timeout("123456789S"));  // 9 digits
    CHECK_FALSE(parse_timeout("S"));
    CHECK_FALSE(parse_timeout("10"));
    CHECK_FALSE(parse_timeout("10s"));  // units are case-sensitive: s is not seconds
    CHECK_FALSE(parse_timeout("-1S"));
    CHECK_FALSE(parse_timeout(""));
}

TEST_CASE("grpc-timeout is written in 8 digits, never shorter than asked") {
    CHECK(format_timeout(45s) == "45000000u");
    CHECK(format_timeout(std::chrono::nanoseconds(7)) == "7n");
    CHECK(format_timeout(std::chrono::nanoseconds(123456789)) == "123457u");
    CHECK(format_timeout(0s) == "1n");
    CHECK(parse_timeout(format_timeout(3h)) == std::chrono::nanoseconds(3h));
}

TEST_CASE("status codes have their gRPC names and parse back") {
    CHECK(to_string(status_code::permission_denied) == "PERMISSION_DENIED");
    CHECK(to_string(status_code::unauthenticated) == "UNAUTHENTICATED");
    CHECK(parse_status_code("14") == status_code::unavailable);
    CHECK(parse_status_code("0") == status_code::ok);
    CHECK_FALSE(parse_status_code("17"));
    CHECK_FALSE(parse_status_code("x"));
    CHECK_FALSE(parse_status_code(""));
}

TEST_CASE("grpc-message is percent-encoded outside printable ASCII and round-trips") {
    const std::string message = "100% sure: caf\xc3\xa9\nline";
    const std::string encoded = percent_encode(message);
    CHECK(encoded == "100%25 sure: caf%C3%A9%0Aline");
    CHECK(percent_decode(encoded) == message);
    CHECK(percent_decode("bad %zz and %4") == "bad %zz and %4");
}

TEST_CASE("the ping policy accepts the forwarder's 10 s pings on an idle connection") {
    ping_policy policy{ping_policy_options{}};
    auto t = ping_policy::clock::time_point{} + 1h;
    for (int i = 0; i < 100; ++i) {
        REQUIRE(policy.on_ping(t, 0));
        t += 10s;
    }
    CHECK(policy.strikes() == 0);
}

TEST_CASE("the ping policy sends a client away on the third early ping, as grpc-go") {
    ping_policy policy{ping_policy_options{}};
    auto t = ping_policy::clock::time_point{} + 1h;
    CHECK(policy.on_ping(t, 1));
    CHECK(policy.on_ping(t + 1s, 1));  // strike 1
    CHECK(policy.on_ping(t + 2s, 1));  // strike 2
    CHECK_FALSE(policy.on_ping(t + 3s, 1));
}

TEST_CASE("pings right after we sent data are not strikes (BDP pings)") {
    ping_policy policy{ping_policy_options{}};
    auto t = ping_policy::clock::time_point{} + 1h;
    for (int i = 0; i < 50; ++i) {
        policy.on_data_sent();
        REQUIRE(policy.on_ping(t, 1));
        t += 10ms;
    }
}

TEST_CASE("without permission, pings on a connection without streams need two hours") {
    ping_policy_options options;
    options.permit_without_stream = false;
    ping_policy policy{options};
    auto t = ping_policy::clock::time_point{} + 1h;
    CHECK(policy.on_ping(t, 0));
    CHECK(policy.on_ping(t + 10s, 0));
    CHECK(policy.on_ping(t + 20s, 0));
    CHECK_FALSE(policy.on_ping(t + 30s, 0));
}

TEST_CASE("the frame budget allows its burst, then its rate") {
    const auto t0 = frame_budget::clock::time_point{} + 1h;
    frame_budget budget(3, 2, t0);
    CHECK(budget.take(t0));
    CHECK(budget.take(t0));
    CHECK(budget.take(t0));
    CHECK_FALSE(budget.take(t0));
    CHECK(budget.take(t0 + 500ms));
    CHECK_FALSE(budget.take(t0 + 500ms));
    CHECK(budget.take(t0 + 10s));
}
