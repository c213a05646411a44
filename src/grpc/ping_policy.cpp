// grpc-go's http2Server.handlePing, as a pure state machine.
#include <mgw/grpc/ping_policy.hpp>

namespace mgw::grpc {

bool ping_policy::on_ping(clock::time_point now, std::size_t open_streams) {
    const auto previous = last_ping_;
    last_ping_ = now;
    if (reset_) {
        reset_ = false;
        strikes_ = 0;
        return true;
    }
    if (previous) {
        const auto min_interval = open_streams == 0 && !options_.permit_without_stream
                                      ? options_.min_time_without_stream
                                      : options_.min_time;
        if (now - *previous < min_interval) {
            ++strikes_;
        }
    }
    return strikes_ <= options_.max_strikes;
}

}  // namespace mgw::grpc
