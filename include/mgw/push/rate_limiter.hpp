// Push module: per-binding request and metric limits over fixed windows (60 s by default,
// aligned to multiples of the window since the Unix epoch, so every gateway of a cluster has the
// same windows), as the Metrics Forwarder enforced them, and the X-RateLimit-* fields every
// answer carries. Pure: the caller passes the time; one mutex guards the counts. With a
// peer_usage installed, admission counts what the cluster's other nodes counted too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <mgw/push/binding_directory.hpp>
#include <mgw/push/peer_usage.hpp>

namespace mgw::push {

inline constexpr std::chrono::seconds rate_window{60};

// The counts of one binding's current window as the X-RateLimit-* fields report them.
struct rate_status {
    std::optional<std::uint32_t> request_limit;  // nullopt: unlimited
    std::uint32_t requests_remaining = 0;        // meaningless when unlimited
    std::optional<std::uint32_t> metric_limit;
    std::uint32_t metrics_remaining = 0;
    // Seconds until the window resets when a limit is exhausted (the Java metric writer holds
    // its sends back that long), otherwise 0.
    std::uint32_t retry_after_seconds = 0;
    std::uint32_t period_seconds = 60;  // the window's length (X-RateLimit-Period)
};

enum class rate_verdict { allowed, requests_exceeded, metrics_exceeded };

struct rate_decision {
    rate_verdict verdict = rate_verdict::allowed;
    rate_status status;
};

// X-RateLimit-Limit, -Remaining, -Metrics-Limit, -Metrics-Remaining (integer or `unlimited`),
// -Period (the window, 60 s unless configured) and -Retry-After, in that order.
std::vector<std::pair<std::string_view, std::string>> rate_limit_fields(const rate_status& s);

// What an unknown key is told: no quota at all (limits 0), nothing to wait for.
rate_status no_quota_status();

// What one binding used of its current window.
struct window_use {
    std::string binding_id;
    std::int64_t window_start_ms = 0;  // the window's start, ms since the Unix epoch
    std::uint32_t requests = 0;
    std::uint32_t metrics = 0;
};

class rate_limiter {
  public:
    using clock = std::chrono::system_clock;

    // `window`: the length of every rate window (at least 1 s; 60 s is what clients expect,
    // shorter ones are for tests).
    explicit rate_limiter(std::chrono::seconds window = rate_window);

    // What the cluster's other nodes counted; nullptr (the default): local counting only.
    // Before the limiter is used; `usage` must outlive it.
    void set_peer_usage(const peer_usage* usage) { peers_ = usage; }
    std::chrono::seconds window_length() const { return window_; }

    // Counts one request of `binding_id` against `limits.requests_per_minute`. A request over
    // the limit is not counted (it did no work), so a client that waits is let in next window.
    rate_decision admit_request(std::string_view binding_id, const rate_limits& limits,
                                clock::time_point now);

    // Counts `metrics` against `limits.metrics_per_minute`, all or nothing: a request that
    // brings more than what is left is refused whole, and none of its metrics is counted.
    rate_decision admit_metrics(std::string_view binding_id, const rate_limits& limits,
                                std::size_t metrics, clock::time_point now);

    // The binding's current window as the fields report it, counting nothing: for answers
    // given before a request could be admitted (413).
    rate_status peek(std::string_view binding_id, const rate_limits& limits,
                     clock::time_point now) const;

    // Forgets bindings whose window has ended (their counts would restart at 0 anyway), so the
    // table holds only the bindings active in the last minute.
    std::size_t sweep(clock::time_point now);

    std::size_t tracked_bindings() const;

    // The bindings that pushed in the window `now` falls in, with their counts, by binding id.
    std::vector<window_use> current_use(clock::time_point now) const;

  private:
    struct window {
        std::int64_t number = 0;  // windows since the clock's epoch
        std::uint32_t requests = 0;
        std::uint32_t metrics = 0;
    };

    window& current(std::string_view binding_id, std::int64_t number);
    // `w` plus what the peers counted in the same window.
    window with_peers(std::string_view binding_id, const window& w) const;
    rate_status status_of(const window& w, const rate_limits& limits, clock::time_point now) const;
    std::int64_t window_number(clock::time_point now) const;
    std::uint32_t seconds_to_reset(clock::time_point now) const;

    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    std::chrono::seconds window_;
    const peer_usage* peers_ = nullptr;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, window, string_hash, std::equal_to<>> windows_;
};

}  // namespace mgw::push
