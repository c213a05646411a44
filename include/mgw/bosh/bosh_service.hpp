// BOSH module: the HM event path assembled. Ingest listener → decoder → subscription
// distributor and heartbeat gauges; GET /v1/bosh/events and GET /v1/bosh/metrics on top.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include <mgw/bosh/heartbeat_gauges.hpp>
#include <mgw/bosh/ingest_server.hpp>
#include <mgw/bosh/subscription_distributor.hpp>
#include <mgw/bosh/token_validator.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/router.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::bosh {

struct bosh_service_options {
    ingest_options ingest;
    distributor_options distributor;
    heartbeat_gauges_options gauges;
    token_validator_options auth;
    // A comment (SSE) or an empty line (NDJSON) after this long without events, so that
    // proxies and load balancers keep an idle stream open.
    std::chrono::milliseconds stream_keepalive{std::chrono::seconds(15)};
    std::size_t max_events_per_write = 256;
};

class bosh_service {
  public:
    // Throws std::invalid_argument on a bad UAA URL (startup misconfiguration).
    bosh_service(boost::asio::io_context& io, bosh_service_options options, core::logger& log,
                 prometheus::Registry& registry);
    ~bosh_service();
    bosh_service(const bosh_service&) = delete;
    bosh_service& operator=(const bosh_service&) = delete;

    // GET /v1/bosh/events (streamed, no request deadline) and GET /v1/bosh/metrics.
    void register_routes(http::router& routes);

    // Binds the ingest listener (std::system_error when taken), starts subscription expiry.
    void start();
    std::uint16_t ingest_port() const;

    // First step of the drain: no more ingest; streams send what is queued and end.
    void stop();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::bosh
