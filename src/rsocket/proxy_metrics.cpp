// The proxy's own metrics: registration, names and help texts, and the original's `_max`.
#include "proxy_metrics.hpp"

#include <mgw/rsocket/connection.hpp>

#include "client_identity.hpp"

namespace mgw::rsocket {

namespace {
// What Micrometer's Prometheus registry writes as HELP for a meter without a description.
constexpr const char* micrometer_blank_help = " ";
}  // namespace

proxy_counters::proxy_counters(prometheus::Registry& r)
    : connections(prometheus::BuildGauge()
                      .Name("mgw_rsocket_connections")
                      .Help("RSocket connections open (accepted and not yet closed).")
                      .Register(r)
                      .Add({})),
      accepted(prometheus::BuildCounter()
                   .Name("mgw_rsocket_connections_accepted_total")
                   .Help("RSocket connections accepted, by transport.")
                   .Register(r)),
      rejected(prometheus::BuildCounter()
                   .Name("mgw_rsocket_connections_rejected_total")
                   .Help("RSocket connections closed at once because rsocket.max_connections "
                         "were open.")
                   .Register(r)
                   .Add({})),
      connection_errors(
          prometheus::BuildCounter()
              .Name("mgw_rsocket_connection_errors_total")
              .Help("RSocket connections ended by a protocol violation, a limit (frame size, "
                    "frame or SETUP deadline, byte budgets), a transport failure or silence, by "
                    "reason.")
              .Register(r)),
      pulls(prometheus::BuildCounter()
                .Name("mgw_rsocket_pulls_total")
                .Help("Pulls of connected clients, by outcome (success, timeout, closed, error, "
                      "decrypt, busy, memory).")
                .Register(r)),
      pushes(prometheus::BuildCounter()
                 .Name("mgw_rsocket_pushes_total")
                 .Help("Metrics pushed by clients, by outcome (held, invalid, refused, served, "
                       "expired, dropped).")
                 .Register(r)),
      identities(prometheus::BuildCounter()
                     .Name("mgw_rsocket_identity_total")
                     .Help("What connected clients proved about their app, by result (key, "
                           "declared, anonymous, unknown_key, wrong_app, malformed, revoked).")
                     .Register(r)),
      duplicate_series(prometheus::BuildCounter()
                           .Name("mgw_rsocket_duplicate_series_total")
                           .Help("Series left out of /metrics/connected because a client "
                                 "connected longer exposed the same series.")
                           .Register(r)
                           .Add({})),
      parse_errors(prometheus::BuildCounter()
                       .Name("mgw_rsocket_parse_errors_total")
                       .Help("Client expositions left out of /metrics/connected (and, in "
                             "cluster mode, peers' /metrics/proxy) because they do not parse.")
                       .Register(r)
                       .Add({})),
      type_conflicts(prometheus::BuildCounter()
                         .Name("mgw_rsocket_merge_type_conflicts_total")
                         .Help("Families left out of /metrics/connected (or a cluster's "
                               "/metrics/proxy) because a client (a node) gave them another "
                               "TYPE than an earlier one did.")
                         .Register(r)
                         .Add({})),
      repairs(prometheus::BuildCounter()
                  .Name("mgw_rsocket_repairs_total")
                  .Help("What reading client expositions leniently changed so that "
                        "/metrics/connected stays valid, by action (joined, ignored, "
                        "dropped_family, dropped_metric, dropped_sample, repaired).")
                  .Register(r)) {
    // Every result shows from the start, at 0: a dashboard sees refusals before the first one.
    for (identity_result result : all_identity_results) {
        identities.Add({{"result", std::string(to_string(result))}});
    }
}

void proxy_counters::count_repairs(const exposition::leniency_report& report) {
    for (std::size_t a = 0; a < exposition::leniency_action_count; ++a) {
        const auto action = static_cast<exposition::leniency_action>(a);
        if (const std::size_t n = report.count(action); n != 0) {
            repairs.Add({{"action", std::string(exposition::to_string(action))}})
                .Increment(static_cast<double>(n));
        }
    }
}

original_metrics::original_metrics()
    : active(prometheus::BuildGauge()
                 .Name("prometheus_proxy_scrape_active_connections")
                 .Help(micrometer_blank_help)
                 .Register(registry)
                 .Add({})),
      connection_errors(prometheus::BuildCounter()
                            .Name("prometheus_proxy_connection_error_total")
                            .Help(micrometer_blank_help)
                            .Register(registry)),
      scrape_seconds_(prometheus::BuildSummary()
                          .Name("prometheus_proxy_scrape_seconds")
                          .Help(micrometer_blank_help)
                          .Register(registry)),
      scrape_seconds_max_(prometheus::BuildGauge()
                              .Name("prometheus_proxy_scrape_seconds_max")
                              .Help(micrometer_blank_help)
                              .Register(registry)),
      payload_bytes_(prometheus::BuildSummary()
                         .Name("prometheus_proxy_scrape_payload_bytes")
                         .Help(micrometer_blank_help)
                         .Register(registry)
                         .Add({}, prometheus::Summary::Quantiles{})),
      payload_bytes_max_(prometheus::BuildGauge()
                             .Name("prometheus_proxy_scrape_payload_bytes_max")
                             .Help(micrometer_blank_help)
                             .Register(registry)
                             .Add({})),
      payload_window_(clock::now()) {}

void original_metrics::record_scrape(std::string_view outcome, std::string_view exception,
                                     double seconds, std::optional<std::size_t> payload_bytes,
                                     clock::time_point now) {
    const std::map<std::string, std::string> labels{{"outcome", std::string(outcome)},
                                                    {"exception", std::string(exception)}};
    scrape_seconds_.Add(labels, prometheus::Summary::Quantiles{}).Observe(seconds);
    if (payload_bytes) {
        payload_bytes_.Observe(static_cast<double>(*payload_bytes));
    }
    std::lock_guard lock(mutex_);
    auto window = seconds_windows_.find({std::string(outcome), std::string(exception)});
    if (window == seconds_windows_.end()) {
        window = seconds_windows_
                     .emplace(std::pair{std::string(outcome), std::string(exception)},
                              std::pair{window_max(now), &scrape_seconds_max_.Add(labels)})
                     .first;
    }
    window->second.first.record(seconds, now);
    if (payload_bytes) {
        payload_window_.record(static_cast<double>(*payload_bytes), now);
    }
}

void original_metrics::refresh(clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto& [labels, window] : seconds_windows_) {
        window.second->Set(window.first.poll(now));
    }
    payload_bytes_max_.Set(payload_window_.poll(now));
}

}  // namespace mgw::rsocket
