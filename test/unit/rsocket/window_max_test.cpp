// Unit tests: the `_max` of the original's timers and summaries decays like Micrometer's
// TimeWindowMax (expiry 2 min, 3 buffers): a sample stays visible 4 to 6 minutes.
#include "window_max.hpp"

#include <catch2/catch.hpp>

using namespace mgw::rsocket;
using namespace std::chrono_literals;

namespace {
const auto t0 = window_max::clock::time_point{} + 1h;
}

TEST_CASE("the max of the samples in the window, 0 before any") {
    window_max max(t0);
    CHECK(max.poll(t0) == 0.0);
    max.record(0.25, t0 + 1s);
    max.record(0.75, t0 + 2s);
    max.record(0.5, t0 + 3s);
    CHECK(max.poll(t0 + 4s) == 0.75);
}

TEST_CASE("a sample is seen for two to three rotations, as in Micrometer") {
    window_max max(t0);
    max.record(3.0, t0 + 1min);              // in all three buffers
    CHECK(max.poll(t0 + 2min + 1s) == 3.0);  // first rotation: the next buffer has it
    CHECK(max.poll(t0 + 4min + 1s) == 3.0);  // second rotation: the last buffer has it
    CHECK(max.poll(t0 + 6min + 1s) == 0.0);  // third: back to a buffer cleared since
}

TEST_CASE("a sample recorded just before a rotation outlives an older, larger one") {
    window_max max(t0);
    max.record(9.0, t0 + 10s);
    max.record(2.0, t0 + 3min);  // after the first rotation
    CHECK(max.poll(t0 + 3min) == 9.0);
    CHECK(max.poll(t0 + 6min + 1s) == 2.0);  // the 9 is gone, the 2 is not yet
    CHECK(max.poll(t0 + 8min + 1s) == 0.0);
}

TEST_CASE("a long pause clears the whole ring at once") {
    window_max max(t0);
    max.record(5.0, t0);
    CHECK(max.poll(t0 + 1h) == 0.0);
    max.record(1.0, t0 + 1h);
    CHECK(max.poll(t0 + 1h + 1s) == 1.0);
}
