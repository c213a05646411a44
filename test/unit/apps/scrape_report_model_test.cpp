// Unit tests: the per-instance report built directly as the exposition model the merger takes
// gives the merged bytes its text rendering gave once parsed again, for every output format,
// with escaped labels, odd durations, large counts and only-app-metrics.
#include <array>

#include <catch2/catch.hpp>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

#include "apps/scrape_report.hpp"

using namespace mgw;
using namespace mgw::apps;

namespace {

void assign(instance_labels& labels, std::string index, std::string space) {
    routes::endpoint endpoint;
    endpoint.address = "10.0.0." + index + ":61001";
    endpoint.tags = {{"organization_id", "o-1"},
                     {"space_id", "s-1"},
                     {"app_id", "a-1"},
                     {"organization_name", "org"},
                     {"space_name", std::move(space)},
                     {"app_name", "app\\x\ny"},
                     {"instance_id", index},
                     {"process_type", "web"}};
    labels.assign(endpoint);
}

// The merged answer of the report alone, from the model or from its text parsed again.
std::string merged(const exposition::parsed_exposition& report,
                   const exposition::writer_options& options) {
    exposition::merger merger;
    merger.add_source(report);
    return merger.write_all(options);
}

void check_same_bytes(std::span<const instance_outcome> outcomes, report_series series) {
    scrape_report report;
    report.build(outcomes, series);
    const std::string text = render_scrape_report(outcomes, series);
    exposition::parsed_exposition parsed;
    REQUIRE(exposition::parse(text, exposition::format::prometheus_text, parsed));
    CHECK(report.model().families.size() == parsed.families.size());
    CHECK(report.model().samples.size() == parsed.samples.size());
    for (const auto output :
         {exposition::format::prometheus_text, exposition::format::openmetrics}) {
        for (const bool utf8 : {true, false}) {
            const exposition::writer_options options{.output = output, .utf8_names = utf8};
            CHECK(merged(report.model(), options) == merged(parsed, options));
        }
    }
}

}  // namespace

TEST_CASE("the report model merges to the bytes of its parsed text") {
    std::array<instance_labels, 4> labels;
    assign(labels[0], "0", "space \"q\"");
    assign(labels[1], "1", "dev");
    assign(labels[2], "2", "back\\slash");
    assign(labels[3], "3", "");
    const std::array<instance_outcome, 4> outcomes{
        instance_outcome{.labels = &labels[0],
                         .up = true,
                         .reason = {},
                         .duration_seconds = 0.25,
                         .samples = 18446744073709551615u,
                         .samples_dropped = 7},
        instance_outcome{.labels = &labels[1],
                         .up = false,
                         .reason = "connect_refused",
                         .duration_seconds = 1e-05,
                         .samples = 0,
                         .samples_dropped = 0},
        instance_outcome{.labels = &labels[2],
                         .up = true,
                         .reason = {},
                         .duration_seconds = 12345.678901234567,
                         .samples = 1000000,
                         .samples_dropped = 0},
        instance_outcome{.labels = &labels[3],
                         .up = false,
                         .reason = "status_503",
                         .duration_seconds = 0.1 + 0.2,
                         .samples = 0,
                         .samples_dropped = 0}};
    check_same_bytes(outcomes, report_series::all);
    check_same_bytes(outcomes, report_series::promfetcher);
    // Every instance up: no error family, and nothing at all for only-app-metrics.
    const std::array<instance_outcome, 2> healthy{outcomes[0], outcomes[2]};
    check_same_bytes(healthy, report_series::all);
    scrape_report report;
    report.build(healthy, report_series::promfetcher);
    CHECK(report.model().families.empty());
    CHECK(merged(report.model(), {}).empty());
}

TEST_CASE("a report is rebuilt from scratch") {
    std::array<instance_labels, 1> labels;
    assign(labels[0], "0", "dev");
    const std::array<instance_outcome, 1> down{instance_outcome{.labels = &labels[0],
                                                                .up = false,
                                                                .reason = "timeout",
                                                                .duration_seconds = 5,
                                                                .samples = 0,
                                                                .samples_dropped = 0}};
    scrape_report report;
    report.build(down);
    CHECK(report.model().families.size() == 5);
    const std::array<instance_outcome, 1> up{instance_outcome{.labels = &labels[0],
                                                              .up = true,
                                                              .reason = {},
                                                              .duration_seconds = 0.5,
                                                              .samples = 3,
                                                              .samples_dropped = 0}};
    report.build(up);
    CHECK(report.model().families.size() == 4);
    CHECK(report.model().samples.size() == 4);
    CHECK(report.model().labels.size() == 4 * cf_label_names.size());
    check_same_bytes(up, report_series::all);
}
