// Apps module: the synthetic series that describe each instance's scrape in the merged answer:
// Promfetcher's `promfetcher_scrape_error` (with a low-cardinality `reason`) and the gateway's
// `mgw_scrape_up`, `mgw_scrape_duration_seconds`, `mgw_scrape_samples` and
// `mgw_scrape_samples_dropped`.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/model.hpp>
#include <mgw/scrape/result.hpp>

namespace mgw::apps {

struct instance_outcome {
    const instance_labels* labels = nullptr;
    bool up = false;
    std::string_view reason;  // error class when !up: "connect_refused", "parse_error", ...
    double duration_seconds = 0;
    std::size_t samples = 0;
    // Samples of its exposition left out so the answer stays valid (a lenient read).
    std::size_t samples_dropped = 0;
};

// The report as Prometheus text 0.0.4, one family per series name, instances in the given
// order. `promfetcher_scrape_error` appears only for failed instances and is a gauge: its value
// is always 1 and it is rebuilt on every request (Promfetcher typed it counter, which an
// OpenMetrics rendering would rename to `_total` and break the dashboards that read it).
enum class report_series {
    all,          // promfetcher_scrape_error and the gateway's mgw_scrape_* series
    promfetcher,  // promfetcher_scrape_error only (/only-app-metrics: Promfetcher keeps it)
};

std::string render_scrape_report(std::span<const instance_outcome> outcomes,
                                 report_series series = report_series::all);

// The same report built directly as the exposition model the merger takes: no text rendered and
// parsed again. Merging it gives byte for byte what merging the parsed render_scrape_report
// gives (test/unit/apps/scrape_report_test.cpp). Its views point into the outcomes' labels and
// reasons, which must outlive it, and into its own value texts: it never moves once built.
class scrape_report {
  public:
    scrape_report() = default;
    scrape_report(const scrape_report&) = delete;
    scrape_report& operator=(const scrape_report&) = delete;

    void build(std::span<const instance_outcome> outcomes,
               report_series series = report_series::all);
    const exposition::parsed_exposition& model() const { return model_; }

  private:
    void add_family(std::string_view name, std::string_view help);
    void add_sample(const instance_outcome& outcome, std::string_view value_text, double value,
                    std::string_view reason = {});

    exposition::parsed_exposition model_;
    std::string values_;  // the samples' value texts, reserved once so that views stay valid
};

// The `reason` label of a failed fetch: the error class, or `status_<code>` for HTTP errors.
// Bounded: a dozen classes and the HTTP status codes. Points into `result` or static text.
std::string_view failure_reason(const scrape::scrape_result& result);

}  // namespace mgw::apps
