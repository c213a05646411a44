// A mutex rather than atomics: the check of the time and the reset of the count must be one
// step, and a throttle is only consulted on paths that already failed (never the hot path).
#include <mgw/core/log_throttle.hpp>

namespace mgw::core {

log_throttle::log_throttle(clock::duration interval) : interval_(interval) {}

std::optional<std::uint64_t> log_throttle::admit(clock::time_point now) {
    const std::lock_guard lock(mutex_);
    ++pending_;
    if (last_line_ && now - *last_line_ < interval_) {
        return std::nullopt;
    }
    last_line_ = now;
    const std::uint64_t stands_for = pending_;
    pending_ = 0;
    return stands_for;
}

std::uint64_t log_throttle::suppressed() const {
    const std::lock_guard lock(mutex_);
    return pending_;
}

}  // namespace mgw::core
