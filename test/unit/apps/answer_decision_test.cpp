// Unit tests: the answer decision of the merged endpoint (404, 406, 503, 200 and the merger's
// inputs, with Promfetcher's texts) and the merged answer itself, byte for byte, for a fixed
// fleet of instance bodies, failures and pushed series; no socket, no clock.
#include "apps/answer_decision.hpp"

#include <array>
#include <chrono>

#include <catch2/catch.hpp>

using namespace mgw;
using namespace mgw::apps;
using namespace std::chrono_literals;

namespace {

void fill_endpoint(routes::endpoint& endpoint, std::string index) {
    endpoint.address = "10.0.0." + index + ":8080";
    endpoint.tags = {{"organization_id", "org-1"},  {"space_id", "space-1"}, {"app_id", "app-1"},
                     {"organization_name", "acme"}, {"space_name", "dev"},   {"app_name", "cart"},
                     {"instance_id", index},        {"process_type", "web"}};
}

scrape::scrape_result failed(scrape::scrape_error error, unsigned status = 0,
                             std::string reason = {}) {
    scrape::scrape_result result;
    result.error = error;
    result.status = status;
    result.reason = std::move(reason);
    result.duration = 1500ms;
    return result;
}

scrape::scrape_result fetched(std::string body, std::chrono::milliseconds duration) {
    scrape::scrape_result result;
    result.error = scrape::scrape_error::ok;
    result.status = 200;
    result.body = std::move(body);
    result.content_type = "text/plain; version=0.0.4";
    result.duration = duration;
    return result;
}

// Instances with their endpoints, labels and outcomes, as the shell holds them.
template <std::size_t N>
struct fleet {
    std::array<routes::endpoint, N> endpoints;
    std::array<instance_labels, N> labels;
    std::array<instance_outcome, N> outcomes;

    fleet() {
        for (std::size_t i = 0; i < N; ++i) {
            fill_endpoint(endpoints[i], std::to_string(i));
            labels[i].assign(endpoints[i]);
            outcomes[i].labels = &labels[i];
        }
    }
};

}  // namespace

TEST_CASE("the memory ceiling's refusal comes first") {
    fleet<1> f;
    const std::array results{failed(scrape::scrape_error::memory)};
    const answer_decision decision = decide_answer({.shown = "acme/dev/cart",
                                                    .metric_path = "/metrics",
                                                    .first = &f.endpoints[0],
                                                    .results = results,
                                                    .outcomes = f.outcomes,
                                                    .contributions = {},
                                                    .memory_refused = true});
    CHECK(decision.kind == answer_kind::memory_refused);
    CHECK(decision.status == 503);
    CHECK_FALSE(decision.recorded);
}

TEST_CASE("no instance and no contribution is Promfetcher's 404") {
    const answer_decision decision = decide_answer({.shown = "acme/dev/nope",
                                                    .metric_path = "/metrics",
                                                    .first = nullptr,
                                                    .results = {},
                                                    .outcomes = {},
                                                    .contributions = {},
                                                    .memory_refused = false});
    CHECK(decision.kind == answer_kind::not_found);
    CHECK(decision.status == 404);
    CHECK(decision.body == "404 Cannot found app with id or path acme/dev/nope\n");
    CHECK_FALSE(decision.recorded);

    // Sources that handed over only what could not be read know the app no better.
    std::vector<prepared_contribution> unreadable(2);
    const answer_decision still = decide_answer({.shown = "x",
                                                 .metric_path = "/metrics",
                                                 .first = nullptr,
                                                 .results = {},
                                                 .outcomes = {},
                                                 .contributions = unreadable,
                                                 .memory_refused = false});
    CHECK(still.kind == answer_kind::not_found);
    CHECK(still.body == "404 Cannot found app with id or path x\n");
}

TEST_CASE("every instance answering 4xx with nothing else is Promfetcher's 406") {
    fleet<2> f;
    std::array results{failed(scrape::scrape_error::http_status, 404, "status_404"),
                       failed(scrape::scrape_error::http_status, 410, "status_410")};
    settle_outcomes(results, f.outcomes);
    CHECK(f.outcomes[1].reason == "status_410");
    CHECK(f.outcomes[1].duration_seconds == 1.5);
    answer_inputs inputs{.shown = "acme/dev/cart",
                         .metric_path = "/prom",
                         .first = &f.endpoints[0],
                         .results = results,
                         .outcomes = f.outcomes,
                         .contributions = {},
                         .memory_refused = false};
    const answer_decision decision = decide_answer(inputs);
    CHECK(decision.kind == answer_kind::not_acceptable);
    CHECK(decision.status == 406);
    CHECK(decision.recorded);
    CHECK(decision.body ==
          "406 Cannot found endpoint '/prom' for app with id or path "
          "'acme/dev/cart (status code 404)', please create one\n");

    // One 5xx among them: the app is there, the answer merges what is left.
    results[1] = failed(scrape::scrape_error::http_status, 503, "status_503");
    CHECK(decide_answer(inputs).kind == answer_kind::merge);
    // A contribution, even one that could not be read, also makes it a merge.
    results[1] = failed(scrape::scrape_error::http_status, 404, "status_404");
    std::vector<prepared_contribution> unreadable(1);
    inputs.contributions = unreadable;
    const answer_decision merged = decide_answer(inputs);
    CHECK(merged.kind == answer_kind::merge);
    CHECK(merged.instances.empty());
    CHECK(merged.contributions.empty());
}

TEST_CASE("the merge takes the instances that are up and the contributions that parsed") {
    fleet<3> f;
    const std::array results{fetched("a 1\n", 10ms), failed(scrape::scrape_error::timeout),
                             fetched("b 1\n", 10ms)};
    f.outcomes[0].up = true;
    f.outcomes[2].up = true;
    std::vector<contributed_exposition> contributed;
    contributed.push_back(read_contribution("p 1\n", {}));
    contributed.push_back(read_contribution("not { an exposition\n", {}));
    contributed.push_back(read_contribution("q 2\n", {}));
    std::vector<prepared_contribution> contributions(contributed.size());
    for (std::size_t i = 0; i < contributed.size(); ++i) {
        CHECK(contributions[i].prepare(contributed[i]) == (i != 1));
    }
    const answer_decision decision = decide_answer({.shown = "acme/dev/cart",
                                                    .metric_path = "/metrics",
                                                    .first = &f.endpoints[0],
                                                    .results = results,
                                                    .outcomes = f.outcomes,
                                                    .contributions = contributions,
                                                    .memory_refused = false});
    CHECK(decision.kind == answer_kind::merge);
    CHECK(decision.status == 200);
    CHECK(decision.recorded);
    CHECK(decision.instances == std::vector<std::size_t>{0, 2});
    CHECK(decision.contributions == std::vector<std::size_t>{0, 2});
}

TEST_CASE("the merged answer for a fixed fleet, pushes and failures, byte for byte") {
    fleet<4> f;
    std::array results{fetched("# HELP http_requests_total Requests.\n"
                               "# TYPE http_requests_total counter\n"
                               "http_requests_total{path=\"/a\"} 3\n"
                               "# TYPE temperature gauge\n"
                               "temperature 21.5\n",
                               250ms),
                       failed(scrape::scrape_error::http_status, 503, "status_503"),
                       fetched("# TYPE temperature gauge\n"
                               "temperature 22.5\n"
                               "# TYPE http_requests_total counter\n"
                               "http_requests_total{path=\"/b\"} 4\n",
                               125ms),
                       fetched("this is { no exposition\n", 2ms)};
    // Each body read as the shell reads it as soon as it arrives.
    std::array<std::string, 4> bodies;
    std::array<exposition::parsed_exposition, 4> expositions;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (!results[i].ok()) {
            continue;
        }
        bodies[i] = std::move(results[i].body);
        exposition::leniency_report repairs;
        const auto read = read_instance_body(bodies[i], results[i].content_type, expositions[i],
                                             repairs, f.outcomes[i]);
        CHECK(read.has_value() == (i != 3));
        if (!read) {
            CHECK(read.error().code.category() == exposition::error_category());
        }
    }
    CHECK(f.outcomes[3].reason == "parse_error");
    CHECK(expositions[3].samples.empty());
    // Two pushed contributions (one with a label to escape) and one that cannot be read; the
    // parsed contributions point into what the sources handed over.
    std::vector<contributed_exposition> contributed;
    contributed.push_back(read_contribution("# TYPE queue_depth gauge\nqueue_depth 7\n",
                                            exposition::format::prometheus_text));
    contributed.back().labels = {{"source", "push \"a\""}};
    contributed.push_back(
        read_contribution("queue_depth{ 1\n", exposition::format::prometheus_text));
    contributed.push_back(read_contribution("# TYPE temperature gauge\ntemperature 30\n",
                                            exposition::format::prometheus_text));
    contributed.back().labels = {{"instance", "pushed"}};
    std::vector<prepared_contribution> contributions(contributed.size());
    for (std::size_t i = 0; i < contributed.size(); ++i) {
        CHECK(contributions[i].prepare(contributed[i]) == (i != 1));
    }

    settle_outcomes(results, f.outcomes);
    const answer_decision decision = decide_answer({.shown = "acme/dev/cart",
                                                    .metric_path = "/metrics",
                                                    .first = &f.endpoints[0],
                                                    .results = results,
                                                    .outcomes = f.outcomes,
                                                    .contributions = contributions,
                                                    .memory_refused = false});
    REQUIRE(decision.kind == answer_kind::merge);
    scrape_report scrape_series;
    scrape_series.build(f.outcomes);
    exposition::merger merger;
    add_merge_sources(merger, decision, expositions, f.labels, contributions, scrape_series);
    const std::string merged = merger.write_all({.output = exposition::format::prometheus_text});

    const std::string labels0 =
        R"(organization_id="org-1",space_id="space-1",app_id="app-1",organization_name="acme",)"
        R"(space_name="dev",app_name="cart",index="0",instance_id="0",instance="10.0.0.0:8080")";
    const std::string labels1 =
        R"(organization_id="org-1",space_id="space-1",app_id="app-1",organization_name="acme",)"
        R"(space_name="dev",app_name="cart",index="1",instance_id="1",instance="10.0.0.1:8080")";
    const std::string labels2 =
        R"(organization_id="org-1",space_id="space-1",app_id="app-1",organization_name="acme",)"
        R"(space_name="dev",app_name="cart",index="2",instance_id="2",instance="10.0.0.2:8080")";
    const std::string labels3 =
        R"(organization_id="org-1",space_id="space-1",app_id="app-1",organization_name="acme",)"
        R"(space_name="dev",app_name="cart",index="3",instance_id="3",instance="10.0.0.3:8080")";
    // Instances in index order with their CF labels, the contributions that parsed after them,
    // Promfetcher's error series and the gateway's per-instance series last.
    const std::string expected =
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{path=\"/a\"," +
        labels0 +
        "} 3\n"
        "http_requests_total{path=\"/b\"," +
        labels2 +
        "} 4\n"
        "# TYPE temperature gauge\n"
        "temperature{" +
        labels0 +
        "} 21.5\n"
        "temperature{" +
        labels2 +
        "} 22.5\n"
        "temperature{instance=\"pushed\"} 30\n"
        "# TYPE queue_depth gauge\n"
        "queue_depth{source=\"push \\\"a\\\"\"} 7\n"
        "# HELP promfetcher_scrape_error Promfetcher scrap error on your instance\n"
        "# TYPE promfetcher_scrape_error gauge\n"
        "promfetcher_scrape_error{" +
        labels1 +
        ",reason=\"status_503\"} 1\n"
        "promfetcher_scrape_error{" +
        labels3 +
        ",reason=\"parse_error\"} 1\n"
        "# HELP mgw_scrape_up 1 if the instance answered 200 with a valid exposition, else 0.\n"
        "# TYPE mgw_scrape_up gauge\n"
        "mgw_scrape_up{" +
        labels0 +
        "} 1\n"
        "mgw_scrape_up{" +
        labels1 +
        "} 0\n"
        "mgw_scrape_up{" +
        labels2 +
        "} 1\n"
        "mgw_scrape_up{" +
        labels3 +
        "} 0\n"
        "# HELP mgw_scrape_duration_seconds Time the gateway spent fetching the instance.\n"
        "# TYPE mgw_scrape_duration_seconds gauge\n"
        "mgw_scrape_duration_seconds{" +
        labels0 +
        "} 0.25\n"
        "mgw_scrape_duration_seconds{" +
        labels1 +
        "} 1.5\n"
        "mgw_scrape_duration_seconds{" +
        labels2 +
        "} 0.125\n"
        "mgw_scrape_duration_seconds{" +
        labels3 +
        "} 0.002\n"
        "# HELP mgw_scrape_samples Samples the instance exposed in this scrape.\n"
        "# TYPE mgw_scrape_samples gauge\n"
        "mgw_scrape_samples{" +
        labels0 +
        "} 2\n"
        "mgw_scrape_samples{" +
        labels1 +
        "} 0\n"
        "mgw_scrape_samples{" +
        labels2 +
        "} 2\n"
        "mgw_scrape_samples{" +
        labels3 +
        "} 0\n"
        "# HELP mgw_scrape_samples_dropped Samples of the instance's exposition left out to keep "
        "the answer valid (repeated families of another TYPE, repeated series, invalid "
        "histograms...).\n"
        "# TYPE mgw_scrape_samples_dropped gauge\n"
        "mgw_scrape_samples_dropped{" +
        labels0 +
        "} 0\n"
        "mgw_scrape_samples_dropped{" +
        labels1 +
        "} 0\n"
        "mgw_scrape_samples_dropped{" +
        labels2 +
        "} 0\n"
        "mgw_scrape_samples_dropped{" +
        labels3 + "} 0\n";
    CHECK(merged == expected);

    // The same bytes as before the report was built directly: rendered as text, parsed again.
    const std::string report_text = render_scrape_report(f.outcomes);
    exposition::parsed_exposition reparsed;
    REQUIRE(exposition::parse(report_text, exposition::format::prometheus_text, reparsed));
    exposition::merger by_text;
    for (const std::size_t i : decision.instances) {
        by_text.add_source(expositions[i], f.labels[i].labels());
    }
    for (const std::size_t i : decision.contributions) {
        by_text.add_source(*contributions[i].parsed, contributions[i].labels);
    }
    by_text.add_source(reparsed);
    CHECK(by_text.write_all({.output = exposition::format::prometheus_text}) == expected);
}

TEST_CASE("an instance body is read leniently and counts what the repair dropped") {
    fleet<1> f;
    // The second TYPE of a family already typed otherwise is left out, its sample dropped.
    const std::string body = "# TYPE a counter\na_total 1\n# TYPE a gauge\na 2\nb 3\n";
    exposition::parsed_exposition parsed;
    exposition::leniency_report repairs;
    REQUIRE(read_instance_body(body, "text/plain; version=0.0.4", parsed, repairs, f.outcomes[0]));
    CHECK(f.outcomes[0].up);
    CHECK(f.outcomes[0].samples == parsed.samples.size());
    CHECK(f.outcomes[0].samples_dropped == repairs.samples_dropped());
    CHECK(f.outcomes[0].samples_dropped >= 1);
    CHECK(f.outcomes[0].reason.empty());
}
