// Cluster module: the I/O shell of cluster-wide push rate limits (issue 15). It publishes this
// node's rate counts on mgw.<cluster>.rl every cluster.rate_limit.sync when they changed (all
// of them every second), keeps what its peers publish, and is the push limiter's peer_usage:
// admission adds the peers' counts of the same window. All decisions are in the pure part
// (src/cluster/rate_share). Without NATS it publishes nothing and admits on what it knows:
// the peers' counts heard before, expiring with their windows, plus its own (local counting).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include <mgw/cluster/config.hpp>
#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>
#include <mgw/push/peer_usage.hpp>
#include <mgw/push/rate_limiter.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::cluster {

// This node's counts of the current window (push_service::rate_use), any thread.
using local_rate_use = std::function<std::vector<push::window_use>()>;

// Subject: mgw.<name>.rl. Metrics: mgw_cluster_rate_sync_messages_total{direction=sent|received},
// mgw_cluster_rate_sync_skipped_total{reason=nats_down|publish_failed|too_large},
// mgw_cluster_rate_sync_bad_messages_total, mgw_cluster_rate_sync_peer_counts (entries held).
class rate_sync final : public push::peer_usage {
  public:
    // Subscribes on `nats`: construct before nats.start(). `node_id` and `boot_id` are the
    // node's identity, the cluster_service's own (its options). `window` is the limiter's window
    // (push.rate_window), the same on every node. `local` and `nats` must outlive the I/O.
    rate_sync(boost::asio::io_context& io, const cluster_config& config, std::string node_id,
              std::string boot_id, std::chrono::seconds window, local_rate_use local,
              nats::client& nats, core::logger& log, prometheus::Registry& registry);
    ~rate_sync() override;
    rate_sync(const rate_sync&) = delete;
    rate_sync& operator=(const rate_sync&) = delete;

    void start();
    void stop();

    push::peer_use peers(std::string_view binding_id, std::int64_t window_start_ms) const override;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::cluster
