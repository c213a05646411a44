// Synthetic per-instance series, rendered as text and merged like any other source.
#include "scrape_report.hpp"

#include <fmt/format.h>

namespace mgw::apps {

namespace {

template <typename Value>
void append_series(std::string& out, std::string_view name, const instance_outcome& outcome,
                   Value value) {
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, outcome.labels->rendered(),
                   value);
}

}  // namespace

std::string render_scrape_report(std::span<const instance_outcome> outcomes, report_series series) {
    std::string out;
    bool any_failed = false;
    for (const instance_outcome& outcome : outcomes) {
        any_failed = any_failed || !outcome.up;
    }
    if (any_failed) {
        out += "# HELP promfetcher_scrape_error Promfetcher scrap error on your instance\n";
        out += "# TYPE promfetcher_scrape_error gauge\n";
        for (const instance_outcome& outcome : outcomes) {
            if (!outcome.up) {
                fmt::format_to(std::back_inserter(out),
                               "promfetcher_scrape_error{{{},reason=\"{}\"}} 1\n",
                               outcome.labels->rendered(), outcome.reason);
            }
        }
    }
    if (series == report_series::promfetcher) {
        return out;
    }
    out += "# HELP mgw_scrape_up 1 if the instance answered 200 with a valid exposition, else 0.\n";
    out += "# TYPE mgw_scrape_up gauge\n";
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, "mgw_scrape_up", outcome, outcome.up ? 1 : 0);
    }
    out += "# HELP mgw_scrape_duration_seconds Time the gateway spent fetching the instance.\n";
    out += "# TYPE mgw_scrape_duration_seconds gauge\n";
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, "mgw_scrape_duration_seconds", outcome, outcome.duration_seconds);
    }
    out += "# HELP mgw_scrape_samples Samples the instance exposed in this scrape.\n";
    out += "# TYPE mgw_scrape_samples gauge\n";
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, "mgw_scrape_samples", outcome, outcome.samples);
    }
    out +=
        "# HELP mgw_scrape_samples_dropped Samples of the instance's exposition left out to "
        "keep the answer valid (repeated families of another TYPE, repeated series, invalid "
        "histograms...).\n";
    out += "# TYPE mgw_scrape_samples_dropped gauge\n";
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, "mgw_scrape_samples_dropped", outcome, outcome.samples_dropped);
    }
    return out;
}

std::string_view failure_reason(const scrape::scrape_result& result) {
    if (result.error == scrape::scrape_error::http_status && !result.reason.empty()) {
        return result.reason;
    }
    return scrape::to_string(result.error);
}

}  // namespace mgw::apps
