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
#include <mgw/core/memory_budget.hpp>

namespace mgw::bosh {

struct heartbeat_gauges_options {
    // An instance whose last heartbeat is older disappears (bosh.heartbeat_staleness).
    std::chrono::steady_clock::duration staleness = std::chrono::minutes(5);
    std::size_t max_instances = 100'000;
    std::size_t max_alert_series = 10'000;
    // What the instances and alert series may hold in all (bosh.gauges_max_bytes): their label
    // values and metric names come from the ingest port, so a count alone bounds nothing.
    std::size_t max_bytes = std::size_t{128} << 20;
};

class heartbeat_gauges {
  public:
    using clock = std::chrono::steady_clock;

    // The bytes held are leased from `memory` (memory_use::bosh_queues).
    heartbeat_gauges(heartbeat_gauges_options options, core::memory_budget& memory);

    // Replaces the instance's gauges. False when the instance is new and max_instances are
    // tracked already, or when its gauges would pass max_bytes or the memory budget (the
    // heartbeat is then not shown; an instance already shown keeps its previous gauges).
    bool record(const hm_heartbeat& heartbeat, clock::time_point now);
    // Counts the alert. False when it would start a series beyond max_alert_series or
    // max_bytes.
    bool record(const hm_alert& alert);

    // Drops stale instances, then renders text format 0.0.4: one family per gauge name
    // (`system_cpu_user`, ...; labels deployment, job, index, id), `bosh_alerts_total`.
    std::string render(clock::time_point now);

    std::size_t instance_count() const;
    std::size_t bytes() const;

  private:
    struct instance {
        std::string deployment;
        std::string job;
        std::string index;
        std::string id;
        std::vector<hm_metric> metrics;
        clock::time_point seen;
        std::size_t bytes = 0;  // as accounted in bytes_
    };

    bool reserve(std::size_t more);
    void release(std::size_t less);

    heartbeat_gauges_options options_;
    mutable std::mutex mutex_;
    core::memory_lease memory_;
    std::size_t bytes_ = 0;
    // Keyed by instance id (agent id when the instance id is unknown).
    std::map<std::string, instance> instances_;
    std::map<std::tuple<std::string, int, std::string>, std::uint64_t> alerts_;
};

}  // namespace mgw::bosh
