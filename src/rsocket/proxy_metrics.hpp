// RSocket module (internal): the proxy's own metrics. The gateway's `mgw_rsocket_*` counters on
// /metrics, and the original prometheus-rsocket-proxy's names on /metrics/proxy. Every label
// value comes from a fixed set in this module, never from what a client sent.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

#include <mgw/exposition/parser.hpp>

#include "window_max.hpp"

namespace mgw::rsocket {

// On the gateway's /metrics.
struct proxy_counters {
    prometheus::Gauge& connections;
    prometheus::Family<prometheus::Counter>& accepted;
    prometheus::Counter& rejected;
    prometheus::Family<prometheus::Counter>& connection_errors;
    prometheus::Family<prometheus::Counter>& pulls;
    prometheus::Family<prometheus::Counter>& pushes;
    prometheus::Family<prometheus::Counter>& identities;
    prometheus::Counter& duplicate_series;
    prometheus::Counter& parse_errors;
    prometheus::Counter& type_conflicts;
    prometheus::Family<prometheus::Counter>& repairs;

    explicit proxy_counters(prometheus::Registry& registry);

    // What reading one client's exposition leniently changed, per action.
    void count_repairs(const exposition::leniency_report& report);
};

// The original proxy's own metrics, with its names, on /metrics/proxy: Micrometer's timer and
// distribution summary (a summary without quantiles, and a `_max` gauge over Micrometer's
// decaying window), and its gauge and counter. Micrometer writes a blank HELP for meters
// without a description, as all of these are.
class original_metrics {
  public:
    using clock = std::chrono::steady_clock;

    original_metrics();

    // One pull: its outcome and exception tags (fixed sets), its duration, and on success
    // the text's size.
    void record_scrape(std::string_view outcome, std::string_view exception, double seconds,
                       std::optional<std::size_t> payload_bytes, clock::time_point now);
    // The `_max` gauges as of `now`; call before serialising.
    void refresh(clock::time_point now);

    prometheus::Registry registry;
    prometheus::Gauge& active;
    prometheus::Family<prometheus::Counter>& connection_errors;

  private:
    prometheus::Family<prometheus::Summary>& scrape_seconds_;
    prometheus::Family<prometheus::Gauge>& scrape_seconds_max_;
    prometheus::Summary& payload_bytes_;
    prometheus::Gauge& payload_bytes_max_;

    std::mutex mutex_;  // the windows below
    std::map<std::pair<std::string, std::string>, std::pair<window_max, prometheus::Gauge*>>
        seconds_windows_;
    window_max payload_window_;
};

}  // namespace mgw::rsocket
