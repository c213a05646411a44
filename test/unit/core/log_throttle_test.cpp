// The log throttle: the first occurrence is always logged, repeats within the interval are
// counted instead, and the next admitted line reports how many it stands for.
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/core/log_throttle.hpp>

using mgw::core::log_throttle;
using namespace std::chrono_literals;

TEST_CASE("one line per interval, carrying the occurrences it stands for") {
    log_throttle throttle(10s);
    const auto t0 = log_throttle::clock::time_point{} + 1h;
    CHECK(throttle.admit(t0) == 1u);
    CHECK_FALSE(throttle.admit(t0 + 1s));
    CHECK_FALSE(throttle.admit(t0 + 9s));
    CHECK(throttle.suppressed() == 2);
    CHECK(throttle.admit(t0 + 10s) == 3u);
    CHECK(throttle.suppressed() == 0);
    // A quiet spell: the next occurrence is logged at once, standing for itself.
    CHECK(throttle.admit(t0 + 1h) == 1u);
}

TEST_CASE("concurrent occurrences are each counted exactly once") {
    log_throttle throttle(1h);
    std::vector<std::thread> threads;
    std::atomic<std::uint64_t> reported{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i) {
                if (const auto n = throttle.admit()) {
                    reported += *n;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(reported + throttle.suppressed() == 40'000);
}
