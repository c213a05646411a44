// The answer decision of the merged endpoint: results and contributions -> status and the
// merger's inputs, with Promfetcher's texts.
#include "answer_decision.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::apps {

namespace {

bool is_client_error(const scrape::scrape_result& result) {
    return result.error == scrape::scrape_error::http_status && result.status >= 400 &&
           result.status < 500;
}

answer_decision refusal(answer_kind kind, int status, std::string body = {}) {
    answer_decision decision;
    decision.kind = kind;
    decision.status = status;
    decision.body = std::move(body);
    return decision;
}

}  // namespace

bool prepared_contribution::prepare(const contributed_exposition& source) {
    if (!source.readable()) {
        return false;
    }
    parsed = &source.parsed;
    escaped_values.reserve(source.labels.size());
    labels.reserve(source.labels.size());
    for (const auto& [name, value] : source.labels) {
        std::string& escaped = escaped_values.emplace_back();
        exposition::append_escaped_label_value(escaped, value);
        labels.push_back({.name = name,
                          .value = escaped,
                          .name_was_quoted = false,
                          .value_has_escapes = escaped.size() != value.size()});
    }
    ok = true;
    return true;
}

exposition::parse_result read_instance_body(std::string_view body, std::string_view content_type,
                                            exposition::parsed_exposition& out,
                                            exposition::leniency_report& repairs,
                                            instance_outcome& outcome) {
    auto read =
        exposition::read_lenient(body, exposition::format_from_content_type(content_type), out,
                                 repairs, {}, exposition::label_storage::raw_when_canonical);
    if (!read) {
        out.clear();
        outcome.reason = "parse_error";
        return read;
    }
    outcome.up = true;
    outcome.samples = out.samples.size();
    outcome.samples_dropped = repairs.samples_dropped();
    return read;
}

void settle_outcomes(std::span<const scrape::scrape_result> results,
                     std::span<instance_outcome> outcomes) {
    for (std::size_t i = 0; i < results.size() && i < outcomes.size(); ++i) {
        const scrape::scrape_result& result = results[i];
        instance_outcome& outcome = outcomes[i];
        outcome.duration_seconds = std::chrono::duration<double>(result.duration).count();
        if (!result.ok()) {
            outcome.reason = failure_reason(result);
        }
    }
}

std::string not_found_body(std::string_view shown) {
    return fmt::format("404 Cannot found app with id or path {}\n", shown);
}

answer_decision decide_answer(const answer_inputs& inputs) {
    if (inputs.memory_refused) {
        return refusal(answer_kind::memory_refused, 503);
    }
    const bool instances = !inputs.results.empty();
    if (!instances && inputs.contributions.empty()) {
        return refusal(answer_kind::not_found, 404, not_found_body(inputs.shown));
    }
    if (instances && inputs.contributions.empty() && inputs.first != nullptr &&
        std::all_of(inputs.results.begin(), inputs.results.end(), is_client_error)) {
        // Promfetcher's wording, naming the app by its org/space/app tags.
        answer_decision decision =
            refusal(answer_kind::not_acceptable, 406,
                    fmt::format("406 Cannot found endpoint '{}' for app with id or path "
                                "'{}/{}/{} (status code {})', please create one\n",
                                inputs.metric_path, inputs.first->tag("organization_name"),
                                inputs.first->tag("space_name"), inputs.first->tag("app_name"),
                                inputs.results.front().status));
        decision.recorded = true;
        return decision;
    }
    answer_decision decision;
    for (std::size_t i = 0; i < inputs.outcomes.size(); ++i) {
        if (inputs.outcomes[i].up) {
            decision.instances.push_back(i);
        }
    }
    for (std::size_t i = 0; i < inputs.contributions.size(); ++i) {
        if (inputs.contributions[i].ok) {
            decision.contributions.push_back(i);
        }
    }
    // Sources that only handed over what could not be read know the app no better.
    if (!instances && decision.contributions.empty()) {
        return refusal(answer_kind::not_found, 404, not_found_body(inputs.shown));
    }
    decision.recorded = true;
    return decision;
}

void add_merge_sources(exposition::merger& merger, const answer_decision& decision,
                       std::span<const exposition::parsed_exposition> instances,
                       std::span<const instance_labels> labels,
                       std::span<const prepared_contribution> contributions,
                       const scrape_report& report) {
    for (const std::size_t i : decision.instances) {
        merger.add_source(instances[i], labels[i].labels());
    }
    // Pushed and connected series follow the instances', before the per-instance report.
    for (const std::size_t i : decision.contributions) {
        merger.add_source(*contributions[i].parsed, contributions[i].labels);
    }
    merger.add_source(report.model());
}

}  // namespace mgw::apps
