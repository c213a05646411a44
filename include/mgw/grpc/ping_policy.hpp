// gRPC module: which PINGs a server accepts from a client, as grpc-go's keepalive
// EnforcementPolicy (the System Metrics Server ran MinTime 5 s, PermitWithoutStream true): a
// ping sooner than min_time after the previous one is a strike unless data or headers were
// sent since; more than max_strikes strikes and the client is told GOAWAY too_many_pings.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace mgw::grpc {

struct ping_policy_options {
    std::chrono::milliseconds min_time{std::chrono::seconds(5)};
    bool permit_without_stream = true;
    // Without streams and without permission, pings are expected no sooner than this (grpc-go's
    // defaultPingTimeout: 2 h).
    std::chrono::milliseconds min_time_without_stream{std::chrono::hours(2)};
    std::uint32_t max_strikes = 2;
};

class ping_policy {
  public:
    using clock = std::chrono::steady_clock;

    explicit ping_policy(ping_policy_options options) : options_(options) {}

    // A PING (not an ACK) arrived; `open_streams` is the number of streams open now. Returns
    // false when this ping is one strike too many.
    bool on_ping(clock::time_point now, std::size_t open_streams);
    // We sent HEADERS or DATA: the next ping is not checked (grpc-go's resetPingStrikes; this
    // lets BDP pings follow data freely).
    void on_data_sent() { reset_ = true; }

    std::uint32_t strikes() const { return strikes_; }

  private:
    ping_policy_options options_;
    std::optional<clock::time_point> last_ping_;
    std::uint32_t strikes_ = 0;
    bool reset_ = false;
};

}  // namespace mgw::grpc
