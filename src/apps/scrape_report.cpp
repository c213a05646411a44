// Synthetic per-instance series: as the exposition model the merger takes (the answer's path),
// and as Prometheus text (what the model must equal, and a readable form for tests and logs).
#include "scrape_report.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace mgw::apps {

namespace {

constexpr std::string_view error_name = "promfetcher_scrape_error";
constexpr std::string_view error_help = "Promfetcher scrap error on your instance";
constexpr std::string_view up_name = "mgw_scrape_up";
constexpr std::string_view up_help =
    "1 if the instance answered 200 with a valid exposition, else 0.";
constexpr std::string_view duration_name = "mgw_scrape_duration_seconds";
constexpr std::string_view duration_help = "Time the gateway spent fetching the instance.";
constexpr std::string_view samples_name = "mgw_scrape_samples";
constexpr std::string_view samples_help = "Samples the instance exposed in this scrape.";
constexpr std::string_view dropped_name = "mgw_scrape_samples_dropped";
constexpr std::string_view dropped_help =
    "Samples of the instance's exposition left out to keep the answer valid (repeated families "
    "of another TYPE, repeated series, invalid histograms...).";

// The longest value text: a double in its shortest round-trip form (24 characters) or a
// 64-bit count (20).
constexpr std::size_t max_value_chars = 32;

bool any_failed(std::span<const instance_outcome> outcomes) {
    return std::any_of(outcomes.begin(), outcomes.end(),
                       [](const instance_outcome& outcome) { return !outcome.up; });
}

void append_header(std::string& out, std::string_view name, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

template <typename Value>
void append_series(std::string& out, std::string_view name, const instance_outcome& outcome,
                   Value value) {
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, outcome.labels->rendered(),
                   value);
}

}  // namespace

std::string render_scrape_report(std::span<const instance_outcome> outcomes, report_series series) {
    std::string out;
    if (any_failed(outcomes)) {
        append_header(out, error_name, error_help);
        for (const instance_outcome& outcome : outcomes) {
            if (!outcome.up) {
                fmt::format_to(std::back_inserter(out), "{}{{{},reason=\"{}\"}} 1\n", error_name,
                               outcome.labels->rendered(), outcome.reason);
            }
        }
    }
    if (series == report_series::promfetcher) {
        return out;
    }
    append_header(out, up_name, up_help);
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, up_name, outcome, outcome.up ? 1 : 0);
    }
    append_header(out, duration_name, duration_help);
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, duration_name, outcome, outcome.duration_seconds);
    }
    append_header(out, samples_name, samples_help);
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, samples_name, outcome, outcome.samples);
    }
    append_header(out, dropped_name, dropped_help);
    for (const instance_outcome& outcome : outcomes) {
        append_series(out, dropped_name, outcome, outcome.samples_dropped);
    }
    return out;
}

void scrape_report::add_family(std::string_view name, std::string_view help) {
    model_.families.push_back(
        {.name = name,
         .type = exposition::metric_type::gauge,
         .has_type = true,
         .help = help,
         .help_present = true,
         .unit = {},
         .samples = {.first = static_cast<std::uint32_t>(model_.samples.size()), .count = 0}});
}

void scrape_report::add_sample(const instance_outcome& outcome, std::string_view value_text,
                               double value, std::string_view reason) {
    exposition::family& family = model_.families.back();
    const std::span<const exposition::label> labels = outcome.labels->labels();
    const auto first = static_cast<std::uint32_t>(model_.labels.size());
    model_.labels.insert(model_.labels.end(), labels.begin(), labels.end());
    if (!reason.empty() || family.name == error_name) {
        // As the text parser reads `reason="..."`: the value verbatim between the quotes.
        model_.labels.push_back({.name = "reason",
                                 .value = reason,
                                 .name_was_quoted = false,
                                 .value_has_escapes = reason.find('\\') != std::string_view::npos});
    }
    model_.samples.push_back(
        {.name = family.name,
         .labels = {.first = first,
                    .count = static_cast<std::uint32_t>(model_.labels.size() - first)},
         .value_text = value_text,
         .value = value,
         .timestamp_text = {},
         .exemplar_index = exposition::sample::no_exemplar,
         .raw_labels_size = 0});
    ++family.samples.count;
}

void scrape_report::build(std::span<const instance_outcome> outcomes, report_series series) {
    model_.clear();
    model_.source_format = exposition::format::prometheus_text;
    values_.clear();
    // Every value text is appended below, so this reservation is never outgrown and the views
    // into it stay valid.
    values_.reserve(outcomes.size() * 3 * max_value_chars);
    const auto value_text = [this](auto value) {
        const std::size_t start = values_.size();
        fmt::format_to(std::back_inserter(values_), "{}", value);
        return std::string_view(values_).substr(start);
    };
    if (any_failed(outcomes)) {
        add_family(error_name, error_help);
        for (const instance_outcome& outcome : outcomes) {
            if (!outcome.up) {
                add_sample(outcome, "1", 1, outcome.reason);
            }
        }
    }
    if (series == report_series::promfetcher) {
        return;
    }
    add_family(up_name, up_help);
    for (const instance_outcome& outcome : outcomes) {
        add_sample(outcome, outcome.up ? "1" : "0", outcome.up ? 1 : 0);
    }
    add_family(duration_name, duration_help);
    for (const instance_outcome& outcome : outcomes) {
        add_sample(outcome, value_text(outcome.duration_seconds), outcome.duration_seconds);
    }
    add_family(samples_name, samples_help);
    for (const instance_outcome& outcome : outcomes) {
        add_sample(outcome, value_text(outcome.samples), static_cast<double>(outcome.samples));
    }
    add_family(dropped_name, dropped_help);
    for (const instance_outcome& outcome : outcomes) {
        add_sample(outcome, value_text(outcome.samples_dropped),
                   static_cast<double>(outcome.samples_dropped));
    }
}

std::string_view failure_reason(const scrape::scrape_result& result) {
    if (result.error == scrape::scrape_error::http_status && !result.reason.empty()) {
        return result.reason;
    }
    return scrape::to_string(result.error);
}

}  // namespace mgw::apps
