// The synthetic per-instance series and the CF labels they carry.
#include "apps/scrape_report.hpp"

#include <catch2/catch.hpp>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/parser.hpp>

namespace {

// endpoint holds an atomic and cannot be returned by value.
void fill_endpoint(mgw::routes::endpoint& endpoint, std::string index, std::string address) {
    endpoint.address = std::move(address);
    endpoint.tags = {
        {"organization_id", "o-1"},   {"space_id", "s-1"},           {"app_id", "a-1"},
        {"organization_name", "org"}, {"space_name", "space \"q\""}, {"app_name", "app\\x"},
        {"instance_id", index},       {"process_type", "web"}};
}

void assign_labels(mgw::apps::instance_labels& labels, std::string index, std::string address) {
    mgw::routes::endpoint endpoint;
    fill_endpoint(endpoint, std::move(index), std::move(address));
    labels.assign(endpoint);
}

}  // namespace

TEST_CASE("instance labels follow Promfetcher's order and are escaped") {
    mgw::apps::instance_labels labels;
    assign_labels(labels, "3", "10.0.0.1:61001");
    CHECK(labels.rendered() ==
          R"(organization_id="o-1",space_id="s-1",app_id="a-1",organization_name="org",)"
          R"(space_name="space \"q\"",app_name="app\\x",index="3",instance_id="3",)"
          R"(instance="10.0.0.1:61001")");
    REQUIRE(labels.labels().size() == 9);
    CHECK(labels.labels()[4].value_has_escapes);
    CHECK_FALSE(labels.labels()[0].value_has_escapes);
}

TEST_CASE("the report is a valid exposition with one error sample per failed instance") {
    mgw::apps::instance_labels up_labels;
    assign_labels(up_labels, "0", "10.0.0.1:1");
    mgw::apps::instance_labels down_labels;
    assign_labels(down_labels, "1", "10.0.0.2:1");
    const mgw::apps::instance_outcome outcomes[] = {{.labels = &up_labels,
                                                     .up = true,
                                                     .reason = {},
                                                     .duration_seconds = 0.25,
                                                     .samples = 42,
                                                     .samples_dropped = 7},
                                                    {.labels = &down_labels,
                                                     .up = false,
                                                     .reason = "connect_refused",
                                                     .duration_seconds = 0.001,
                                                     .samples = 0}};
    const std::string text = mgw::apps::render_scrape_report(outcomes);

    mgw::exposition::parsed_exposition parsed;
    REQUIRE(mgw::exposition::parse(text, mgw::exposition::format::prometheus_text, parsed));
    REQUIRE(parsed.families.size() == 5);
    CHECK(parsed.families[0].name == "promfetcher_scrape_error");
    CHECK(parsed.families[0].samples.count == 1);
    CHECK(text.find(R"(instance="10.0.0.2:1",reason="connect_refused"} 1)") != std::string::npos);
    CHECK(text.find(R"(mgw_scrape_up{organization_id="o-1")") != std::string::npos);
    CHECK(text.find(R"(instance="10.0.0.1:1"} 42)") != std::string::npos);
    CHECK(text.find(R"(instance="10.0.0.1:1"} 0.25)") != std::string::npos);
    CHECK(parsed.families[4].name == "mgw_scrape_samples_dropped");
    CHECK(text.find(R"(mgw_scrape_samples_dropped{organization_id="o-1",space_id="s-1",)") !=
          std::string::npos);
    CHECK(text.find(R"(instance="10.0.0.1:1"} 7)") != std::string::npos);
}

TEST_CASE("no error family when every instance is up") {
    mgw::apps::instance_labels labels;
    assign_labels(labels, "0", "10.0.0.1:1");
    const mgw::apps::instance_outcome outcomes[] = {
        {.labels = &labels, .up = true, .reason = {}, .duration_seconds = 0.1, .samples = 1}};
    const std::string text = mgw::apps::render_scrape_report(outcomes);
    CHECK(text.find("promfetcher_scrape_error") == std::string::npos);
    CHECK(text.find("mgw_scrape_up{") != std::string::npos);
}

TEST_CASE("for only-app-metrics the report keeps Promfetcher's error series and nothing else") {
    mgw::apps::instance_labels up_labels;
    assign_labels(up_labels, "0", "10.0.0.1:1");
    mgw::apps::instance_labels down_labels;
    assign_labels(down_labels, "1", "10.0.0.2:1");
    const mgw::apps::instance_outcome outcomes[] = {
        {.labels = &up_labels, .up = true, .reason = {}, .duration_seconds = 0.25, .samples = 42},
        {.labels = &down_labels,
         .up = false,
         .reason = "timeout",
         .duration_seconds = 5,
         .samples = 0}};
    const std::string all = mgw::apps::render_scrape_report(outcomes);
    const std::string promfetcher =
        mgw::apps::render_scrape_report(outcomes, mgw::apps::report_series::promfetcher);
    CHECK(all.starts_with(promfetcher));
    CHECK(promfetcher.find("mgw_scrape_") == std::string::npos);
    mgw::exposition::parsed_exposition parsed;
    REQUIRE(mgw::exposition::parse(promfetcher, mgw::exposition::format::prometheus_text, parsed));
    REQUIRE(parsed.families.size() == 1);
    CHECK(parsed.families[0].name == "promfetcher_scrape_error");
    CHECK(parsed.samples.size() == 1);

    const mgw::apps::instance_outcome healthy[] = {outcomes[0]};
    CHECK(mgw::apps::render_scrape_report(healthy, mgw::apps::report_series::promfetcher).empty());
}

TEST_CASE("failure reasons: the error class, or the HTTP status") {
    mgw::scrape::scrape_result result;
    result.error = mgw::scrape::scrape_error::http_status;
    result.status = 503;
    result.reason = "status_503";
    CHECK(mgw::apps::failure_reason(result) == "status_503");
    result.error = mgw::scrape::scrape_error::connect_refused;
    result.reason = "refused";
    CHECK(mgw::apps::failure_reason(result) == "connect_refused");
}
