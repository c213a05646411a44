// Cluster module: HM events keep their subscription meaning across nodes (issue 15). The node
// that ingests an event publishes it once on NATS; every node holds one queue subscription per
// subscription id with local clients (HTTP or gRPC) and feeds what NATS hands it into its local
// distributor, so the clients of one id share the events cluster-wide and every id gets all of
// them. The decisions are in src/cluster/hm_plan; this is the thin NATS shell around them.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include <mgw/bosh/subscription_distributor.hpp>
#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::cluster {

struct hm_relay_options {
    std::string cluster_name;
    // How often the ids with local clients are compared with the queue subscriptions held: a
    // new id's first events arrive at most this late.
    std::chrono::milliseconds reconcile_interval{100};
};

// Subject mgw.<name>.hm.ev, queue hm.<hash16(id)>.
//
// Metrics: mgw_cluster_hm_events_published_total, mgw_cluster_hm_events_received_total,
// mgw_cluster_hm_events_dropped_total{reason} (bad_message: empty payload; not_queued: the id
// has no queue here any more, or its queue or the memory budget refused it),
// mgw_cluster_hm_events_local_total{reason} (distributed on this node only: nats_down,
// too_large for the server's max_payload, publish_failed), mgw_cluster_hm_queue_subscriptions.
class hm_relay {
  public:
    // `strand` is the NATS client's strand; `nats` and `distributor` outlive the relay's I/O.
    hm_relay(boost::asio::any_io_executor strand, hm_relay_options options, nats::client& nats,
             bosh::subscription_distributor& distributor, core::logger& log,
             prometheus::Registry& registry);
    ~hm_relay();
    hm_relay(const hm_relay&) = delete;
    hm_relay& operator=(const hm_relay&) = delete;

    // Any thread (the ingest connections' strands): publishes each line once, or, without a
    // NATS connection, hands them to this node's subscriptions only.
    void distribute(std::span<const std::string_view> lines);

    // Starts reconciling the queue subscriptions; stop() drops them all. Any thread.
    void start();
    void stop();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::cluster
