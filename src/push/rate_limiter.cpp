// Fixed windows: cheap (two counters per binding), predictable for clients (the reset time is
// the same for every request of the window) and exactly what the original documented. Aligned
// to the Unix epoch, not to the process start, so that a cluster's nodes share their windows
// (their clocks are assumed NTP-synchronised) and can add up each other's counts.
#include <algorithm>
#include <limits>

#include <mgw/push/rate_limiter.hpp>

namespace mgw::push {

namespace {

std::string limit_text(std::optional<std::uint32_t> limit) {
    return limit ? std::to_string(*limit) : std::string("unlimited");
}

std::string remaining_text(std::optional<std::uint32_t> limit, std::uint32_t remaining) {
    return limit ? std::to_string(remaining) : std::string("unlimited");
}

}  // namespace

std::vector<std::pair<std::string_view, std::string>> rate_limit_fields(const rate_status& s) {
    return {{"X-RateLimit-Limit", limit_text(s.request_limit)},
            {"X-RateLimit-Remaining", remaining_text(s.request_limit, s.requests_remaining)},
            {"X-RateLimit-Metrics-Limit", limit_text(s.metric_limit)},
            {"X-RateLimit-Metrics-Remaining", remaining_text(s.metric_limit, s.metrics_remaining)},
            {"X-RateLimit-Period", std::to_string(s.period_seconds)},
            {"X-RateLimit-Retry-After", std::to_string(s.retry_after_seconds)}};
}

rate_status no_quota_status() {
    return {.request_limit = 0,
            .requests_remaining = 0,
            .metric_limit = 0,
            .metrics_remaining = 0,
            .retry_after_seconds = 0};
}

rate_limiter::rate_limiter(std::chrono::seconds window)
    : window_(std::max(window, std::chrono::seconds(1))) {}

std::int64_t rate_limiter::window_number(clock::time_point now) const {
    return std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count() /
           window_.count();
}

std::uint32_t rate_limiter::seconds_to_reset(clock::time_point now) const {
    const auto end = std::chrono::seconds((window_number(now) + 1) * window_.count());
    const auto left = std::chrono::ceil<std::chrono::seconds>(end - now.time_since_epoch());
    return static_cast<std::uint32_t>(left.count());
}

rate_limiter::window rate_limiter::with_peers(std::string_view binding_id, const window& w) const {
    if (peers_ == nullptr) {
        return w;
    }
    const std::int64_t start_ms = w.number * window_.count() * 1000;
    const peer_use p = peers_->peers(binding_id, start_ms);
    const auto add = [](std::uint32_t a, std::uint32_t b) {
        constexpr std::uint32_t most = std::numeric_limits<std::uint32_t>::max();
        return a > most - b ? most : a + b;
    };
    return window{.number = w.number,
                  .requests = add(w.requests, p.requests),
                  .metrics = add(w.metrics, p.metrics)};
}

rate_limiter::window& rate_limiter::current(std::string_view binding_id, std::int64_t number) {
    auto it = windows_.find(binding_id);
    if (it == windows_.end()) {
        it = windows_.emplace(std::string(binding_id), window{}).first;
    }
    // A clock stepped backwards keeps the window it has rather than granting a fresh one.
    if (it->second.number < number) {
        it->second = window{.number = number, .requests = 0, .metrics = 0};
    }
    return it->second;
}

rate_status rate_limiter::status_of(const window& w, const rate_limits& limits,
                                    clock::time_point now) const {
    rate_status s;
    s.period_seconds = static_cast<std::uint32_t>(window_.count());
    s.request_limit = limits.requests_per_minute;
    s.metric_limit = limits.metrics_per_minute;
    bool exhausted = false;
    if (s.request_limit) {
        s.requests_remaining = w.requests >= *s.request_limit ? 0 : *s.request_limit - w.requests;
        exhausted = exhausted || s.requests_remaining == 0;
    }
    if (s.metric_limit) {
        s.metrics_remaining = w.metrics >= *s.metric_limit ? 0 : *s.metric_limit - w.metrics;
        exhausted = exhausted || s.metrics_remaining == 0;
    }
    s.retry_after_seconds = exhausted ? seconds_to_reset(now) : 0;
    return s;
}

rate_status rate_limiter::peek(std::string_view binding_id, const rate_limits& limits,
                               clock::time_point now) const {
    if (!limits.requests_per_minute && !limits.metrics_per_minute) {
        return {};
    }
    const std::int64_t number = window_number(now);
    const std::scoped_lock lock(mutex_);
    const auto found = windows_.find(binding_id);
    const window w = found != windows_.end() && found->second.number == number
                         ? found->second
                         : window{.number = number, .requests = 0, .metrics = 0};
    return status_of(with_peers(binding_id, w), limits, now);
}

rate_decision rate_limiter::admit_request(std::string_view binding_id, const rate_limits& limits,
                                          clock::time_point now) {
    if (!limits.requests_per_minute && !limits.metrics_per_minute) {
        return {};  // unlimited: nothing to count, nothing to remember
    }
    const std::scoped_lock lock(mutex_);
    window& w = current(binding_id, window_number(now));
    window total = with_peers(binding_id, w);
    rate_decision decision;
    if (limits.requests_per_minute && total.requests >= *limits.requests_per_minute) {
        decision.verdict = rate_verdict::requests_exceeded;
    } else {
        ++w.requests;
        ++total.requests;
    }
    decision.status = status_of(total, limits, now);
    if (decision.verdict != rate_verdict::allowed) {
        decision.status.retry_after_seconds = seconds_to_reset(now);
    }
    return decision;
}

rate_decision rate_limiter::admit_metrics(std::string_view binding_id, const rate_limits& limits,
                                          std::size_t metrics, clock::time_point now) {
    if (!limits.requests_per_minute && !limits.metrics_per_minute) {
        return {};
    }
    const std::scoped_lock lock(mutex_);
    window& w = current(binding_id, window_number(now));
    window total = with_peers(binding_id, w);
    rate_decision decision;
    if (limits.metrics_per_minute) {
        const std::uint32_t left = total.metrics >= *limits.metrics_per_minute
                                       ? 0
                                       : *limits.metrics_per_minute - total.metrics;
        if (metrics > left) {
            decision.verdict = rate_verdict::metrics_exceeded;
        } else {
            w.metrics += static_cast<std::uint32_t>(metrics);
            total.metrics += static_cast<std::uint32_t>(metrics);
        }
    }
    decision.status = status_of(total, limits, now);
    if (decision.verdict != rate_verdict::allowed) {
        decision.status.retry_after_seconds = seconds_to_reset(now);
    }
    return decision;
}

std::size_t rate_limiter::sweep(clock::time_point now) {
    const std::int64_t number = window_number(now);
    const std::scoped_lock lock(mutex_);
    return std::erase_if(windows_,
                         [number](const auto& entry) { return entry.second.number < number; });
}

std::size_t rate_limiter::tracked_bindings() const {
    const std::scoped_lock lock(mutex_);
    return windows_.size();
}

std::vector<window_use> rate_limiter::current_use(clock::time_point now) const {
    const std::int64_t number = window_number(now);
    std::vector<window_use> use;
    {
        const std::scoped_lock lock(mutex_);
        for (const auto& [binding_id, w] : windows_) {
            if (w.number == number) {
                use.push_back({.binding_id = binding_id,
                               .window_start_ms = number * window_.count() * 1000,
                               .requests = w.requests,
                               .metrics = w.metrics});
            }
        }
    }
    std::sort(use.begin(), use.end(),
              [](const window_use& a, const window_use& b) { return a.binding_id < b.binding_id; });
    return use;
}

}  // namespace mgw::push
