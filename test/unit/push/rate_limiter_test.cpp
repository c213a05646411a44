// The per-binding limiter over fixed 60 s windows, and the X-RateLimit-* fields it renders.
#include <chrono>

#include <catch2/catch.hpp>

#include <mgw/push/rate_limiter.hpp>

namespace {

using namespace std::chrono_literals;
using mgw::push::rate_limiter;
using mgw::push::rate_limits;
using mgw::push::rate_status;
using mgw::push::rate_verdict;
using fields = std::vector<std::pair<std::string_view, std::string>>;

// 10:00:15 on some day: 45 s left in its window.
const rate_limiter::clock::time_point t0{std::chrono::minutes(29'000'000) + 15s};

}  // namespace

TEST_CASE("unlimited plans: every field says unlimited, nothing is tracked") {
    rate_limiter limiter;
    const rate_limits unlimited{};
    for (int i = 0; i < 1000; ++i) {
        const auto d = limiter.admit_request("b", unlimited, t0);
        CHECK(d.verdict == rate_verdict::allowed);
        CHECK(limiter.admit_metrics("b", unlimited, 5000, t0).verdict == rate_verdict::allowed);
    }
    CHECK(limiter.tracked_bindings() == 0);
    CHECK(mgw::push::rate_limit_fields(limiter.admit_request("b", unlimited, t0).status) ==
          fields{{"X-RateLimit-Limit", "unlimited"},
                 {"X-RateLimit-Remaining", "unlimited"},
                 {"X-RateLimit-Metrics-Limit", "unlimited"},
                 {"X-RateLimit-Metrics-Remaining", "unlimited"},
                 {"X-RateLimit-Period", "60"},
                 {"X-RateLimit-Retry-After", "0"}});
}

TEST_CASE("requests per minute: counted down, refused at 0, back in the next window") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = 2, .metrics_per_minute = std::nullopt};

    auto d = limiter.admit_request("b", limits, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.requests_remaining == 1);
    CHECK(d.status.retry_after_seconds == 0);

    d = limiter.admit_request("b", limits, t0 + 10s);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.requests_remaining == 0);
    CHECK(d.status.retry_after_seconds == 35);  // the last one: the client may wait it out

    d = limiter.admit_request("b", limits, t0 + 20s);
    CHECK(d.verdict == rate_verdict::requests_exceeded);
    CHECK(d.status.requests_remaining == 0);
    CHECK(d.status.retry_after_seconds == 25);
    CHECK(mgw::push::rate_limit_fields(d.status) ==
          fields{{"X-RateLimit-Limit", "2"},
                 {"X-RateLimit-Remaining", "0"},
                 {"X-RateLimit-Metrics-Limit", "unlimited"},
                 {"X-RateLimit-Metrics-Remaining", "unlimited"},
                 {"X-RateLimit-Period", "60"},
                 {"X-RateLimit-Retry-After", "25"}});

    // Another binding has its own window.
    CHECK(limiter.admit_request("other", limits, t0 + 20s).verdict == rate_verdict::allowed);

    // 10:01:00 starts a new window.
    d = limiter.admit_request("b", limits, t0 + 45s);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.requests_remaining == 1);
}

TEST_CASE("retry-after rounds partial seconds up and never reads 0 while limited") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = 1, .metrics_per_minute = std::nullopt};
    const auto late =
        rate_limiter::clock::time_point{std::chrono::minutes(29'000'000) + 59s + 500ms};
    limiter.admit_request("b", limits, late);
    CHECK(limiter.admit_request("b", limits, late).status.retry_after_seconds == 1);
}

TEST_CASE("metrics per minute: all or nothing") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = std::nullopt, .metrics_per_minute = 100};

    auto d = limiter.admit_metrics("b", limits, 60, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.metrics_remaining == 40);
    CHECK_FALSE(d.status.request_limit);

    d = limiter.admit_metrics("b", limits, 41, t0);
    CHECK(d.verdict == rate_verdict::metrics_exceeded);
    CHECK(d.status.metrics_remaining == 40);  // nothing of the refused request counted
    CHECK(d.status.retry_after_seconds == 45);

    d = limiter.admit_metrics("b", limits, 40, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.metrics_remaining == 0);
    CHECK(d.status.retry_after_seconds == 45);
    CHECK(limiter.admit_metrics("b", limits, 1, t0).verdict == rate_verdict::metrics_exceeded);
    CHECK(limiter.admit_metrics("b", limits, 0, t0).verdict == rate_verdict::allowed);

    // A body larger than the whole plan never fits.
    CHECK(limiter.admit_metrics("c", limits, 101, t0).verdict == rate_verdict::metrics_exceeded);
}

TEST_CASE("both limits report together, a refused request does not count") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = 3, .metrics_per_minute = 1000};
    limiter.admit_request("b", limits, t0);
    auto d = limiter.admit_metrics("b", limits, 10, t0);
    CHECK(d.status.request_limit == 3u);
    CHECK(d.status.requests_remaining == 2);
    CHECK(d.status.metric_limit == 1000u);
    CHECK(d.status.metrics_remaining == 990);
    limiter.admit_request("b", limits, t0);
    limiter.admit_request("b", limits, t0);
    CHECK(limiter.admit_request("b", limits, t0).verdict == rate_verdict::requests_exceeded);
    CHECK(limiter.admit_request("b", limits, t0).status.requests_remaining == 0);
}

TEST_CASE("a clock stepped back keeps the current window") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = 1, .metrics_per_minute = std::nullopt};
    limiter.admit_request("b", limits, t0 + 60s);
    CHECK(limiter.admit_request("b", limits, t0).verdict == rate_verdict::requests_exceeded);
}

TEST_CASE("sweep forgets bindings whose window has ended") {
    rate_limiter limiter;
    const rate_limits limits{.requests_per_minute = 1, .metrics_per_minute = std::nullopt};
    limiter.admit_request("a", limits, t0);
    limiter.admit_request("b", limits, t0 + 50s);  // next window
    CHECK(limiter.tracked_bindings() == 2);
    CHECK(limiter.sweep(t0 + 50s) == 1);
    CHECK(limiter.tracked_bindings() == 1);
    CHECK(limiter.admit_request("b", limits, t0 + 55s).verdict == rate_verdict::requests_exceeded);
}

TEST_CASE("an unknown key is told it has no quota") {
    CHECK(mgw::push::rate_limit_fields(mgw::push::no_quota_status()) ==
          fields{{"X-RateLimit-Limit", "0"},
                 {"X-RateLimit-Remaining", "0"},
                 {"X-RateLimit-Metrics-Limit", "0"},
                 {"X-RateLimit-Metrics-Remaining", "0"},
                 {"X-RateLimit-Period", "60"},
                 {"X-RateLimit-Retry-After", "0"}});
}

TEST_CASE("current_use lists this window's counts by binding and forgets ended windows") {
    rate_limiter limiter;
    const rate_limits limited{.requests_per_minute = 10, .metrics_per_minute = 100};
    CHECK(limiter.current_use(t0).empty());
    limiter.admit_request("b2", limited, t0);
    limiter.admit_request("b1", limited, t0);
    limiter.admit_request("b1", limited, t0);
    limiter.admit_metrics("b1", limited, 40, t0);
    // Refused whole: not counted.
    limiter.admit_metrics("b1", limited, 70, t0);
    const auto use = limiter.current_use(t0 + 10s);
    REQUIRE(use.size() == 2);
    CHECK(use[0].binding_id == "b1");
    CHECK(use[0].requests == 2);
    CHECK(use[0].metrics == 40);
    CHECK(use[1].binding_id == "b2");
    CHECK(use[1].requests == 1);
    CHECK(use[1].metrics == 0);
    // The next minute starts from nothing, even before a sweep.
    CHECK(limiter.current_use(t0 + 60s).empty());
}

namespace {

// A cluster's other nodes as the limiter sees them: fixed counts for one window.
class fixed_peers final : public mgw::push::peer_usage {
  public:
    mgw::push::peer_use peers(std::string_view binding_id,
                              std::int64_t window_start_ms) const override {
        asked_window = window_start_ms;
        if (binding_id == "b" && window_start_ms == window) {
            return use;
        }
        return {};
    }
    std::int64_t window = 0;
    mgw::push::peer_use use;
    mutable std::int64_t asked_window = -1;
};

}  // namespace

TEST_CASE("peers' counts of the same window count against the limit and the remaining fields") {
    rate_limiter limiter;
    fixed_peers peers;
    // t0's window starts at 10:00:00.
    peers.window = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::floor<std::chrono::minutes>(t0.time_since_epoch()))
                       .count();
    peers.use = {.requests = 7, .metrics = 90};
    limiter.set_peer_usage(&peers);
    const rate_limits limits{.requests_per_minute = 10, .metrics_per_minute = 100};

    auto d = limiter.admit_request("b", limits, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(peers.asked_window == peers.window);
    CHECK(d.status.requests_remaining == 2);  // 10 - 7 peers - 1 here
    CHECK(d.status.metrics_remaining == 10);

    // 11 metrics do not fit in what the cluster left (10): refused whole, nothing counted.
    d = limiter.admit_metrics("b", limits, 11, t0);
    CHECK(d.verdict == rate_verdict::metrics_exceeded);
    CHECK(d.status.metrics_remaining == 10);
    d = limiter.admit_metrics("b", limits, 10, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.metrics_remaining == 0);
    CHECK(d.status.retry_after_seconds == 45);
    // The local count is only this node's own: that is what it publishes to its peers.
    const auto use = limiter.current_use(t0);
    REQUIRE(use.size() == 1);
    CHECK(use[0].requests == 1);
    CHECK(use[0].metrics == 10);
    CHECK(use[0].window_start_ms == peers.window);

    CHECK(limiter.admit_request("b", limits, t0 + 1s).verdict == rate_verdict::allowed);
    CHECK(limiter.admit_request("b", limits, t0 + 2s).verdict == rate_verdict::allowed);
    d = limiter.admit_request("b", limits, t0 + 3s);
    CHECK(d.verdict == rate_verdict::requests_exceeded);  // 7 + 3 = 10
    CHECK(limiter.peek("b", limits, t0 + 3s).requests_remaining == 0);

    // The next window: the peers counted nothing there yet.
    d = limiter.admit_request("b", limits, t0 + 45s);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.requests_remaining == 9);
    CHECK(d.status.metrics_remaining == 100);
}

TEST_CASE("a shorter window: aligned to its multiples of the epoch, reported as the period") {
    rate_limiter limiter(10s);
    CHECK(limiter.window_length() == 10s);
    const rate_limits limits{.requests_per_minute = 1, .metrics_per_minute = std::nullopt};
    // t0 is 10:00:15, in the window 10:00:10 to 10:00:20.
    auto d = limiter.admit_request("b", limits, t0);
    CHECK(d.verdict == rate_verdict::allowed);
    CHECK(d.status.period_seconds == 10);
    CHECK(d.status.retry_after_seconds == 5);
    const auto use = limiter.current_use(t0);
    REQUIRE(use.size() == 1);
    CHECK(
        use[0].window_start_ms ==
        std::chrono::duration_cast<std::chrono::milliseconds>(t0.time_since_epoch() - 5s).count());
    d = limiter.admit_request("b", limits, t0 + 4s);
    CHECK(d.verdict == rate_verdict::requests_exceeded);
    CHECK(d.status.retry_after_seconds == 1);
    CHECK(mgw::push::rate_limit_fields(d.status)[4] ==
          std::pair<std::string_view, std::string>{"X-RateLimit-Period", "10"});
    CHECK(limiter.admit_request("b", limits, t0 + 5s).verdict == rate_verdict::allowed);
    CHECK(limiter.sweep(t0 + 15s) == 1);
}
