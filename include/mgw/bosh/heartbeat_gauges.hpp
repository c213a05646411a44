// BOSH module: the latest heartbeat of every instance and the alert counts, rendered as the
// Prometheus text served on GET /v1/bosh/metrics. Pure and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include <mgw/bosh/hm_event.hpp>

namespace mgw::bosh {

struct heartbeat_gauges_options {
    // An instance whose last heartbeat is older disappears (bosh.heartbeat_staleness).
    std::chrono::steady_clock::duration staleness = std::chrono::minutes(5);
    std::size_t max_instances = 100'000;
    std::size_t max_alert_series = 10'000;
};

class heartbeat_gauges {
  public:
    using clock = std::chrono::steady_clock;

    explicit heartbeat_gauges(heartbeat_gauges_options options);

    // Replaces the instance's gauges. False when the instance is new and max_instances are
    // tracked already (the heartbeat is then not shown).
    bool record(const hm_heartbeat& heartbeat, clock::time_point now);
    // Counts the alert. False when it would start a series beyond max_alert_series.
    bool record(const hm_alert& alert);

    // Drops stale instances, then renders text format 0.0.4: one family per gauge name
    // (`system_cpu_user`, ...; labels deployment, job, index, id), `bosh_alerts_total`.
    std::string render(clock::time_point now);

    std::size_t instance_count() const;

  private:
    struct instance {
        std::string deployment;
        std::string job;
        std::string index;
        std::string id;
        std::vector<hm_metric> metrics;
        clock::time_point seen;
    };

    heartbeat_gauges_options options_;
    mutable std::mutex mutex_;
    // Keyed by instance id (agent id when the instance id is unknown).
    std::map<std::string, instance> instances_;
    std::map<std::tuple<std::string, int, std::string>, std::uint64_t> alerts_;
};

}  // namespace mgw::bosh
