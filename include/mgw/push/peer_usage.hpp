// Push module: what the other gateways of a cluster counted against a binding's rate window.
// The limiter asks it so that limits hold cluster-wide; the cluster module implements it (push
// must not depend on cluster), the gateway installs it. Without one, counting is local.
#pragma once

#include <cstdint>
#include <string_view>

namespace mgw::push {

// Requests and metrics counted by peers in one window.
struct peer_use {
    std::uint32_t requests = 0;
    std::uint32_t metrics = 0;
};

class peer_usage {
  public:
    virtual ~peer_usage() = default;
    // The sum over every other node of what it counted for `binding_id` in the window starting
    // at `window_start_ms` (ms since the Unix epoch; windows are wall-clock aligned). Any
    // thread; called under the limiter's lock, so it must not call back into the limiter.
    virtual peer_use peers(std::string_view binding_id, std::int64_t window_start_ms) const = 0;
};

}  // namespace mgw::push
