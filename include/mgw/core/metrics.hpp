// The gateway's own metrics, served on GET /metrics: every module registers its mgw_* and
// promfetch_* families in one prometheus-cpp registry, plus the process_* collector.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <mgw/core/process_collector.hpp>

namespace mgw::core {

class gateway_metrics {
  public:
    // Registers mgw_build_info{version="..."} 1; process metrics come from /proc/self.
    gateway_metrics();
    // For tests: process metrics from another procfs directory.
    explicit gateway_metrics(std::shared_ptr<process_collector> process);

    // Pass this to components (`prometheus::Registry&`); it outlives them.
    prometheus::Registry& registry() const { return *registry_; }
    const std::shared_ptr<prometheus::Registry>& shared_registry() const { return registry_; }

    // The registry's families and the process families, sorted by name.
    std::vector<prometheus::MetricFamily> collect() const;

    // collect() in the Prometheus text format 0.0.4.
    std::string serialize() const;

  private:
    std::shared_ptr<prometheus::Registry> registry_;
    std::shared_ptr<process_collector> process_;
};

}  // namespace mgw::core
