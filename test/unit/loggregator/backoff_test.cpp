// Reconnect backoff: grows by the multiplier up to the cap, jittered within its bounds,
// reset to the first delay.
#include "loggregator/backoff.hpp"

#include <catch2/catch.hpp>

using namespace mgw::loggregator;
using namespace std::chrono_literals;

TEST_CASE("the delay doubles up to the cap, each within the jitter") {
    backoff b({.initial = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.2}, 7);
    const std::chrono::milliseconds nominal[] = {100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s};
    for (const auto n : nominal) {
        const auto d = b.next();
        CHECK(d >= n * 8 / 10);
        CHECK(d <= n * 12 / 10);
    }
    b.reset();
    const auto d = b.next();
    CHECK(d >= 80ms);
    CHECK(d <= 120ms);
}

TEST_CASE("without jitter the delays are exact, different seeds spread") {
    backoff exact({.initial = 100ms, .max = 5s, .multiplier = 2.0, .jitter = 0.0}, 1);
    CHECK(exact.next() == 100ms);
    CHECK(exact.next() == 200ms);
    CHECK(exact.next() == 400ms);

    int different = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        backoff a({.initial = 1s, .jitter = 0.2}, seed);
        backoff c({.initial = 1s, .jitter = 0.2}, seed + 1000);
        different += a.next() != c.next() ? 1 : 0;
    }
    CHECK(different >= 15);
}
