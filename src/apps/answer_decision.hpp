// Apps module: the answer decision of the merged endpoint, the pure step after the fan-out.
// From the instances' results and the sources' contributions it decides Promfetcher's status
// (404, 406), the memory ceiling's 503 or a 200 and which parsed sources the merger takes, in
// which order; then it hands them to the merger. No socket, no clock: tested in
// test/unit/apps/answer_decision_test.cpp, down to the merged bytes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/model.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/routes/endpoint.hpp>
#include <mgw/scrape/result.hpp>

#include "scrape_report.hpp"

namespace mgw::apps {

// A source's contribution prepared for the merger: its labels escaped once. The merger keeps
// views into it and into the contribution's parsed series, so neither moves once prepared (keep
// them in containers sized once).
struct prepared_contribution {
    const exposition::parsed_exposition* parsed = nullptr;  // the contribution's series
    std::vector<std::string> escaped_values;
    std::vector<exposition::label> labels;
    bool ok = false;  // prepared: the merger may take it

    // Takes `source` when it is readable; false when the source received no exposition.
    bool prepare(const contributed_exposition& source);
};

// Reads one instance's body as Prometheus would ingest it (repeated families joined...),
// repaired so that the answer stays valid, into `out` (views into `body`, labels kept as raw
// blocks: a million series are held until the merge). Parsed: the outcome is up with its sample
// counts; else `out` is cleared, the outcome's reason is `parse_error` and the error says why.
// Runs on the strand that fetched the body, as soon as it arrived.
exposition::parse_result read_instance_body(std::string_view body, std::string_view content_type,
                                            exposition::parsed_exposition& out,
                                            exposition::leniency_report& repairs,
                                            instance_outcome& outcome);

// Completes each instance's outcome from its fetch result: the time it took and, for a failed
// fetch, the reason. An instance whose body was parsed is already `up`.
void settle_outcomes(std::span<const scrape::scrape_result> results,
                     std::span<instance_outcome> outcomes);

struct answer_inputs {
    std::string_view shown;                          // the identifier, unescaped (404 text)
    std::string_view metric_path;                    // asked of the instances (406 text)
    const routes::endpoint* first = nullptr;         // first instance, null when none
    std::span<const scrape::scrape_result> results;  // one per instance
    std::span<const instance_outcome> outcomes;      // one per instance, settled
    // What the sources handed over, prepared (not when the memory ceiling refused first).
    std::span<const prepared_contribution> contributions;
    bool memory_refused = false;  // the ceiling refused a body, parsed series or contributions
};

enum class answer_kind {
    memory_refused,  // 503: everything held goes back, the client may retry
    not_found,       // 404, Promfetcher's text
    not_acceptable,  // 406: every instance answered 4xx, nothing else contributed
    merge,           // 200: the merged exposition
};

struct answer_decision {
    answer_kind kind = answer_kind::merge;
    int status = 200;
    std::string body;  // the 404 and 406 texts
    // The status console records this answer (406 and 200: the instances were asked).
    bool recorded = false;
    // Merger inputs, in the answer's order: the instances that are up, then the contributions
    // that parsed, then the per-instance report.
    std::vector<std::size_t> instances;
    std::vector<std::size_t> contributions;
};

// Promfetcher's 404 for an identifier the gateway knows nothing about.
std::string not_found_body(std::string_view shown);

answer_decision decide_answer(const answer_inputs& inputs);

// Adds the decided sources to `merger` in the answer's order, with each instance's CF labels;
// `report` last. Views only: the expositions, labels, contributions and report must outlive the
// merge.
void add_merge_sources(exposition::merger& merger, const answer_decision& decision,
                       std::span<const exposition::parsed_exposition> instances,
                       std::span<const instance_labels> labels,
                       std::span<const prepared_contribution> contributions,
                       const scrape_report& report);

}  // namespace mgw::apps
