// BOSH module: the System Metrics Server's gRPC egress, definitions.Egress/BoshMetrics, on the
// gateway's gRPC server: the same UAA check and the same subscription groups as the HTTP event
// streams, so that gRPC and HTTP consumers of one subscription id share its events.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include <mgw/bosh/subscription_distributor.hpp>
#include <mgw/bosh/token_validator.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/server.hpp>

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}

namespace mgw::bosh {

struct grpc_egress_options {
    grpc::server_options server;  // listen address, TLS, limits, keepalive
    // A stream with a deadline (the forwarder's 45 s) stops taking events this long before it,
    // writes what it took and ends with DEADLINE_EXCEEDED itself, so that nothing it took is
    // lost to the client's own cancellation: at most 2 s, at least 200 ms, 5 % of the timeout
    // in between.
    std::chrono::milliseconds max_deadline_margin{std::chrono::seconds(2)};
    // How long a stream may take to send its EgressRequest.
    std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
    std::size_t max_events_per_pop = 64;
};

class grpc_egress {
  public:
    // `distributor` and `validator` must outlive the egress. Throws std::runtime_error when the
    // certificate or key cannot be loaded.
    grpc_egress(boost::asio::io_context& io, grpc_egress_options options,
                subscription_distributor& distributor, token_validator& validator,
                core::memory_budget& budget, core::logger& log, prometheus::Registry& registry);
    ~grpc_egress();
    grpc_egress(const grpc_egress&) = delete;
    grpc_egress& operator=(const grpc_egress&) = delete;

    void start();  // std::system_error when the address is taken
    std::uint16_t port() const;
    // After the distributor closed (bosh_service::stop): streams send what is queued and end
    // with OK; GOAWAY; true when every connection ended before `deadline`.
    boost::asio::awaitable<bool> drain(std::chrono::steady_clock::time_point deadline);

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::bosh
