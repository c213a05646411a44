// Loggregator module: how long the emitter waits before its next connection attempt.
// Exponential with jitter (so that the gateways of a platform restarted together do not all
// dial their agents in step), capped; reset once a connection proved healthy. Pure: the random
// source is a seeded generator.
#pragma once

#include <chrono>
#include <cstdint>

namespace mgw::loggregator {

struct backoff_options {
    std::chrono::milliseconds initial{100};  // the original forwarders retried after 100 ms
    std::chrono::milliseconds max{std::chrono::seconds(5)};  // a local agent: no need for more
    double multiplier = 2.0;
    double jitter = 0.2;  // each delay is scaled by a factor drawn in [1 - jitter, 1 + jitter]
};

class backoff {
  public:
    explicit backoff(backoff_options options, std::uint64_t seed = 1);

    // The delay before the next attempt; the one after it is longer, up to max.
    std::chrono::milliseconds next();
    void reset() { current_ = options_.initial; }

  private:
    double uniform();  // in [0, 1)

    backoff_options options_;
    std::chrono::milliseconds current_;
    std::uint64_t state_;
};

}  // namespace mgw::loggregator
