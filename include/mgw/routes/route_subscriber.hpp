// Routes module: the gorouter NATS protocol as gorouter and Promfetcher speak it. Announces
// itself with router.start, answers router.greet, applies router.register/unregister to the
// route table on one strand, prunes on a timer and publishes snapshots for readers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>
#include <mgw/routes/route_table.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::routes {

struct subscriber_options {
    // router.start "id"; empty: "0-<random uuid>" like gorouter's "<index>-<uuid>".
    std::string router_id;
    // router.start "hosts" (this node's IPs). Emitters do not read it.
    std::vector<std::string> hosts;
    // Advertised as minimumRegisterIntervalInSeconds: emitters re-send every route at this
    // period. routing-release uses 20 s. Must be at least 1 s (route-emitter panics on 0).
    std::chrono::seconds minimum_register_interval{20};
    // gorouter's prune_stale_droplets_interval.
    std::chrono::milliseconds prune_interval{30000};
    // Changes are made visible to readers at most this often (one index rebuild per period).
    std::chrono::milliseconds publish_interval{250};
};

// Metrics: mgw_routes (endpoints in the table), mgw_routes_registers_total,
// mgw_routes_unregisters_total, mgw_routes_pruned_total, mgw_routes_without_app_id_total,
// mgw_routes_rejected_total{reason}, mgw_routes_greets_total,
// mgw_routes_starts_published_total. Undecodable payloads go to
// mgw_nats_bad_messages_total.
class route_subscriber {
  public:
    // `strand` must be the strand the nats client was built with; `table` is only touched on
    // it. `nats` must not be started yet. The advertised pruneThresholdInSeconds is the table's
    // maximum stale threshold (raised to the register interval if that is larger).
    route_subscriber(boost::asio::any_io_executor strand, route_table& table, nats::client& nats,
                     route_table_options table_options, subscriber_options options,
                     core::logger& log, prometheus::Registry& registry);
    ~route_subscriber();
    route_subscriber(const route_subscriber&) = delete;
    route_subscriber& operator=(const route_subscriber&) = delete;

    // On the strand, or before the io_context runs. Subscribes router.register,
    // router.unregister and router.greet, starts the NATS client and the prune timer. Throws
    // std::invalid_argument on bad NATS options.
    void start();
    // On the strand: stops the timers and closes the NATS client. Idempotent.
    void stop();

    // The router.start / router.greet reply payload.
    const std::string& start_payload() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::routes
