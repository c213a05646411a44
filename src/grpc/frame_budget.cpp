// Token bucket refilled continuously from the elapsed time.
#include <algorithm>

#include <mgw/grpc/frame_budget.hpp>

namespace mgw::grpc {

bool frame_budget::take(clock::time_point now) {
    if (now > refilled_) {
        const double elapsed = std::chrono::duration<double>(now - refilled_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
        refilled_ = now;
    }
    if (tokens_ < 1.0) {
        return false;
    }
    tokens_ -= 1.0;
    return true;
}

}  // namespace mgw::grpc
