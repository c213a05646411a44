// gRPC module: a token bucket over frames a peer may send without doing useful work (resets,
// SETTINGS, empty frames): legitimate peers stay far below it, flooders exhaust it.
#pragma once

#include <chrono>
#include <cstdint>

namespace mgw::grpc {

class frame_budget {
  public:
    using clock = std::chrono::steady_clock;

    // `burst` frames at once, refilled at `per_second`.
    frame_budget(std::uint32_t burst, std::uint32_t per_second, clock::time_point now)
        : burst_(burst), per_second_(per_second), tokens_(burst), refilled_(now) {}

    // Takes one token; false when none is left (the peer is flooding).
    bool take(clock::time_point now);

  private:
    double burst_;
    double per_second_;
    double tokens_;
    clock::time_point refilled_;
};

}  // namespace mgw::grpc
