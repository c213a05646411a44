// Core: how a module logs something a peer can make happen at will (a refused connection, a
// skipped line, a dropped event) without letting that peer flood the log: at most one line per
// interval, and that line says how many occurrences it stands for.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace mgw::core {

// Usage:
//     if (const auto n = throttle.admit()) {
//         log.warn("connection refused", {{"occurrences", *n}, ...});
//     }
// Thread-safe. The first occurrence is always admitted, so a single event is never hidden.
class log_throttle {
  public:
    using clock = std::chrono::steady_clock;

    explicit log_throttle(clock::duration interval = std::chrono::seconds(10));

    // Counts one occurrence. When a line may be written now, returns how many occurrences it
    // stands for (this one and those suppressed since the previous line); nullopt otherwise.
    std::optional<std::uint64_t> admit(clock::time_point now);
    std::optional<std::uint64_t> admit() { return admit(clock::now()); }

    // Occurrences counted but not yet reported by an admitted line.
    std::uint64_t suppressed() const;

  private:
    mutable std::mutex mutex_;
    clock::duration interval_;
    std::optional<clock::time_point> last_line_;
    std::uint64_t pending_ = 0;
};

}  // namespace mgw::core
