// RSocket module (internal): the decaying maximum behind the original proxy's `_max` series.
// Micrometer's TimeWindowMax: a ring of buffers that every sample updates; reads come from the
// current buffer, which is cleared and left behind every `rotate_every`. A sample is therefore
// seen for between (buffers - 1) and `buffers` rotations: 4 to 6 minutes with Micrometer's
// defaults (expiry 2 min, buffer length 3). Pure: the caller passes the time and locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace mgw::rsocket {

class window_max {
  public:
    using clock = std::chrono::steady_clock;

    static constexpr std::chrono::minutes default_expiry{2};
    static constexpr std::size_t default_buffers = 3;

    explicit window_max(clock::time_point now, clock::duration rotate_every = default_expiry,
                        std::size_t buffers = default_buffers);

    void record(double value, clock::time_point now);
    // The maximum of the samples still in the window; 0 when there are none.
    double poll(clock::time_point now);

  private:
    void rotate(clock::time_point now);

    clock::duration rotate_every_;
    std::vector<double> ring_;
    std::size_t current_ = 0;
    clock::time_point last_rotate_;
};

}  // namespace mgw::rsocket
