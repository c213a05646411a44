// Micrometer's TimeWindowMax semantics, rotation included.
#include "window_max.hpp"

#include <algorithm>

namespace mgw::rsocket {

window_max::window_max(clock::time_point now, clock::duration rotate_every, std::size_t buffers)
    : rotate_every_(std::max(rotate_every, clock::duration(1))),
      ring_(std::max<std::size_t>(buffers, 1), 0.0),
      last_rotate_(now) {}

void window_max::rotate(clock::time_point now) {
    clock::duration since = now - last_rotate_;
    if (since < rotate_every_) {
        return;
    }
    if (since >= rotate_every_ * static_cast<long>(ring_.size())) {
        // Long enough that every buffer has expired.
        std::fill(ring_.begin(), ring_.end(), 0.0);
        current_ = 0;
        last_rotate_ = now - since % rotate_every_;
        return;
    }
    do {
        ring_[current_] = 0.0;
        current_ = (current_ + 1) % ring_.size();
        since -= rotate_every_;
        last_rotate_ += rotate_every_;
    } while (since >= rotate_every_);
}

void window_max::record(double value, clock::time_point now) {
    rotate(now);
    for (double& max : ring_) {
        max = std::max(max, value);
    }
}

double window_max::poll(clock::time_point now) {
    rotate(now);
    return ring_[current_];
}

}  // namespace mgw::rsocket
