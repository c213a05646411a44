// The standard process_* metrics (CPU, memory, file descriptors, start time) read from procfs,
// with the names and help texts of the Go and Python clients so existing dashboards work.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace mgw::core {

// Reads procfs at every Collect(); a file that cannot be read or parsed leaves out only the
// metrics taken from it. The paths are parameters so tests can point at a fixture directory.
class process_collector : public prometheus::Collectable {
  public:
    // `proc_self`: a /proc/<pid> directory (stat, limits, fd/); `proc_stat`: /proc/stat (btime).
    explicit process_collector(std::string proc_self = "/proc/self",
                               std::string proc_stat = "/proc/stat");

    // process_cpu_seconds_total, process_open_fds, process_max_fds,
    // process_virtual_memory_bytes, process_resident_memory_bytes, process_start_time_seconds.
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    std::string proc_self_;
    std::optional<double> boot_time_seconds_;  // btime of /proc/stat; constant while running
    double ticks_per_second_;
    double page_size_;
};

}  // namespace mgw::core
