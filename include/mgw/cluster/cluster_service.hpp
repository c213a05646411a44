// Cluster module: the I/O shell of cluster mode. It publishes this node's heartbeat, keeps the
// membership table from its peers' heartbeats, answers peers' app requests from the local
// non-scrape sources (pushed series, RSocket clients), and is itself the "cluster peers" app
// source: an app's answer gathers what every live peer holds, within the request's deadline.
// /metrics/connected, /metrics/proxy and /v1/sd gather their peers' part the same way.
// All decisions are in the pure parts (src/cluster/membership, gather, wire, peer_reply).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/cluster/config.hpp>
#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

namespace prometheus {
class Registry;
}
namespace mgw::core {
class memory_budget;
}

namespace mgw::cluster {

struct cluster_service_options {
    cluster_config config;
    std::string node_id;  // resolved (cluster_config::resolved_node_id)
    // This run's boot id (new_boot_id()), the one the node's rate_sync publishes with too;
    // empty: the service makes one (a node without rate_sync).
    std::string boot_id;
    // The most a gather holds of one peer's reply (the scrape body limit).
    std::size_t max_reply_bytes = 16u << 20;
    std::string version;  // in the heartbeat, for the logs of peers
};

// What the status console shows of the cluster; copied out under a lock, any thread.
struct cluster_status {
    std::string name;
    std::string node;
    std::string boot;
    bool connected = false;  // as mgw_cluster_up says
    struct peer {
        std::string node;
        std::string boot;
        std::chrono::steady_clock::time_point last_heard;
    };
    std::vector<peer> peers;  // live, by node id
    std::uint64_t gathers = 0;
    std::uint64_t partial = 0;  // gathers answered without every peer (any reason)
};

// One peer's answer and the node that gave it.
struct peer_text {
    std::string node;
    std::string text;
};

// What this node's connected RSocket clients expose, pulled by the deadline (one text per
// client that answered), for a peer's /metrics/connected.
using connected_source = std::function<boost::asio::awaitable<void>(
    std::chrono::steady_clock::time_point, std::vector<std::string>&)>;

// Subjects: mgw.<name>.node.hb (heartbeats), mgw.<name>.q.app (app requests),
// mgw.<name>.q.connected (connected-clients requests), mgw.<name>.q.proxy (/metrics/proxy),
// mgw.<name>.q.apps (/v1/sd), replies to _INBOX.mgw.<name>.<node>.<request>.
//
// Metrics: mgw_cluster_up, mgw_cluster_peers, mgw_cluster_node_info{cluster,node,boot_id},
// mgw_cluster_membership_changes_total{event}, mgw_cluster_gathers_total,
// mgw_cluster_gather_partial_total{reason}, mgw_cluster_requests_answered_total,
// mgw_cluster_requests_refused_total, mgw_cluster_bad_messages_total{kind},
// mgw_cluster_publish_failures_total{subject}, mgw_cluster_ignored_chunks_total{verdict}.
class cluster_service final : public apps::app_source {
  public:
    // Subscribes on `nats`: construct before nats.start() (the route subscriber starts it).
    // `nats` must outlive the service's I/O. A gather leases the reply bytes it holds from
    // `memory` (scrape_bodies) when given; a peer whose bytes the ceiling refuses is left out
    // of that answer (partial, reason `memory`).
    cluster_service(boost::asio::io_context& io, cluster_service_options options,
                    nats::client& nats, core::logger& log, prometheus::Registry& registry,
                    core::memory_budget* memory = nullptr);
    ~cluster_service() override;
    cluster_service(const cluster_service&) = delete;
    cluster_service& operator=(const cluster_service&) = delete;

    // A source whose series peers may ask for (pushed series, RSocket clients; never the
    // instance scrapes, which every node does itself). Before start(); it must outlive the
    // service's I/O.
    void add_local_source(apps::app_source& source);

    // What answers a peer's /metrics/connected (the RSocket proxy's local pull); without it
    // such requests are answered empty. Before start().
    void set_connected_source(connected_source source);
    // The connected clients of every live peer, one text per peer that answered in full, by
    // `deadline` (capped by gather.timeout); nothing without NATS (counted as partial).
    boost::asio::awaitable<std::vector<std::string>> gather_connected(
        std::chrono::steady_clock::time_point deadline);

    // What answers a peer's /metrics/proxy: this node's RSocket proxy metrics (Prometheus
    // text), called on the cluster's strand; without it such requests are answered empty.
    // Before start().
    void set_proxy_source(std::function<std::string()> source);
    // The proxy metrics of every live peer that has a proxy and answered in full, with its
    // node id, by `deadline` (capped by gather.timeout); partial answers counted as gathers'.
    boost::asio::awaitable<std::vector<peer_text>> gather_proxy(
        std::chrono::steady_clock::time_point deadline);

    // A directory whose apps a peer's /v1/sd lists (pushed metrics, RSocket clients). Before
    // start(); it must outlive the service's I/O.
    void add_local_directory(const apps::app_directory& directory);
    // The apps every live peer's directories know, by `deadline` (capped by gather.timeout),
    // one listing per peer directory; a list that does not decode is left out and counted
    // (mgw_cluster_bad_messages_total{kind="app_list"}).
    boost::asio::awaitable<std::vector<apps::remote_listing>> gather_apps(
        std::chrono::steady_clock::time_point deadline);

    // Any thread: the node, its NATS state and its live peers as of the last change.
    cluster_status status() const;

    // Starts the heartbeat; logs the node's identity.
    void start();
    // Stops the heartbeat and ends the gathers in flight (they answer with what they have).
    void stop();

    // The cluster peers' contributions for the app; nothing for `?scope=local`, without NATS
    // (counted as partial) or without live peers.
    boost::asio::awaitable<void> collect(const apps::app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<apps::contributed_exposition>& out) override;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::cluster
