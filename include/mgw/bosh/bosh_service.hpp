// BOSH module: the HM event path assembled. Ingest listener → decoder → subscription
// distributor and heartbeat gauges; GET /v1/bosh/events and GET /v1/bosh/metrics on top. Other
// transports (gRPC) attach to the same distributor and ask the same token validator.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include <mgw/bosh/heartbeat_gauges.hpp>
#include <mgw/bosh/hm_event.hpp>
#include <mgw/bosh/ingest_server.hpp>
#include <mgw/bosh/subscription_distributor.hpp>
#include <mgw/bosh/token_validator.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::bosh {

// Told about every HM event the ingest accepted, decoded, on the ingest connection's strand
// (so it must not block): the Loggregator emitter forwards them to the Firehose.
using event_listener = std::function<void(const hm_event&)>;

// Who may read GET /v1/bosh/metrics (bosh.metrics_auth): it shows every VM of the platform.
enum class metrics_auth {
    uaa,   // the event stream's UAA authority (the default)
    none,  // anyone who reaches the listener
};

struct bosh_service_options {
    ingest_options ingest;
    distributor_options distributor;
    heartbeat_gauges_options gauges;
    token_validator_options auth;
    metrics_auth metrics_access = metrics_auth::uaa;
    // Subscription ids are chosen by clients, so they are never a label value as such: these
    // (bosh.labelled_subscriptions) label their own series of the per-subscription counters,
    // every other id counts under "other".
    std::vector<std::string> labelled_subscriptions{"bosh-system-metrics-forwarder"};
    // A comment (SSE) or an empty line (NDJSON) after this long without events, so that
    // proxies and load balancers keep an idle stream open.
    std::chrono::milliseconds stream_keepalive{std::chrono::seconds(15)};
    // One write to a stream: at most this many events and bytes (one event may be larger).
    std::size_t max_events_per_write = 256;
    std::size_t max_bytes_per_write = std::size_t{256} << 10;
};

// The label value of the subscriptions not in labelled_subscriptions.
inline constexpr std::string_view other_subscriptions_label = "other";

class bosh_service {
  public:
    // Throws std::invalid_argument on a bad UAA URL (startup misconfiguration). Queued
    // events, assembled ingest lines and the gauges lease their bytes from `memory`, which
    // must outlive the service.
    bosh_service(boost::asio::io_context& io, bosh_service_options options, core::logger& log,
                 prometheus::Registry& registry, core::memory_budget& memory);
    ~bosh_service();
    bosh_service(const bosh_service&) = delete;
    bosh_service& operator=(const bosh_service&) = delete;

    // GET /v1/bosh/events (streamed, no request deadline) and GET /v1/bosh/metrics.
    void register_routes(http::router& routes);

    // Before start().
    void on_event(event_listener listener);
    // Before start(). Takes over handing accepted lines to the subscriptions (cluster mode
    // publishes them to NATS instead of to this node's distributor); unset: distributor().
    using line_distributor = std::function<void(std::span<const std::string_view>)>;
    void set_line_distributor(line_distributor distribute);

    // Binds the ingest listener (std::system_error when taken), starts subscription expiry.
    void start();
    std::uint16_t ingest_port() const;

    // First step of the drain: no more ingest; streams send what is queued and end.
    void stop();

    // For other transports of the same events (gRPC): they attach consumers to the same
    // subscription groups and authorize with the same validator and cache.
    subscription_distributor& distributor();
    token_validator& validator();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::bosh
