// Apps module: the counters of the merged app answer (answer_counters.hpp).
#include "answer_counters.hpp"

#include <string>

namespace mgw::apps {

answer_counters::answer_counters(prometheus::Registry& registry)
    : fetch_success(prometheus::BuildCounter()
                        .Name("promfetch_metric_fetch_success_total")
                        .Help("Number of instances successfully fetched, by app.")
                        .Register(registry)),
      fetch_failed(prometheus::BuildCounter()
                       .Name("promfetch_metric_fetch_failed_total")
                       .Help("Number of instances that could not be fetched or parsed, by "
                             "app and instance.")
                       .Register(registry)),
      type_conflicts(prometheus::BuildCounter()
                         .Name("mgw_merge_type_conflicts_total")
                         .Help("Families left out of a merged answer because an instance "
                               "gave them another TYPE than the first instance did.")
                         .Register(registry)
                         .Add({})),
      parse_errors(prometheus::BuildCounter()
                       .Name("mgw_scrape_parse_errors_total")
                       .Help("Instance bodies rejected as invalid expositions.")
                       .Register(registry)
                       .Add({})),
      source_errors(prometheus::BuildCounter()
                        .Name("mgw_app_source_errors_total")
                        .Help("Contributions of pushed or connected sources left out of an "
                              "app's answer: invalid exposition or a failed source.")
                        .Register(registry)
                        .Add({})),
      repairs(prometheus::BuildCounter()
                  .Name("mgw_app_source_repairs_total")
                  .Help("What reading instances' and other sources' expositions leniently "
                        "changed so that app answers stay valid, by action (joined, "
                        "ignored, dropped_family, dropped_metric, dropped_sample, "
                        "repaired).")
                  .Register(registry)) {}

void answer_counters::count(const exposition::leniency_report& report) {
    if (report.empty()) {
        return;
    }
    for (std::size_t i = 0; i < exposition::leniency_action_count; ++i) {
        const auto action = static_cast<exposition::leniency_action>(i);
        if (const std::size_t n = report.count(action); n != 0) {
            repairs.Add({{"action", std::string(exposition::to_string(action))}})
                .Increment(static_cast<double>(n));
        }
    }
}

}  // namespace mgw::apps
