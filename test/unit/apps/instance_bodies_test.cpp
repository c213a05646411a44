// Unit tests: the two sides of one merged answer before its decision, without a socket: the
// instances' bodies read as they arrive (instance_bodies), and the sources' contributions held
// and prepared (hold_contributions), both under the memory ceiling.
#include "apps/instance_bodies.hpp"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "apps/held_contributions.hpp"

using namespace mgw;
using namespace mgw::apps;

namespace {

struct answer_fixture {
    prometheus::Registry registry;
    answer_counters counters{registry};
    core::logger log{core::log_level::error};
    routes::endpoint_list endpoints;
    std::vector<instance_labels> labels;

    explicit answer_fixture(std::size_t n) : labels(n) {
        for (std::size_t i = 0; i < n; ++i) {
            auto endpoint = std::make_shared<routes::endpoint>();
            endpoint->address = "10.0.0." + std::to_string(i) + ":8080";
            endpoint->tags = {{"app_id", "app-1"}, {"instance_id", std::to_string(i)}};
            labels[i].assign(*endpoint);
            endpoints.push_back(std::move(endpoint));
        }
    }
};

scrape::scrape_result fetched(std::string body) {
    scrape::scrape_result result;
    result.error = scrape::scrape_error::ok;
    result.status = 200;
    result.body = std::move(body);
    result.content_type = "text/plain; version=0.0.4";
    return result;
}

}  // namespace

TEST_CASE("instance bodies are read as they arrive, a bad one is counted, not fatal") {
    answer_fixture f(3);
    instance_bodies bodies(f.endpoints, f.labels, f.counters, f.log);
    auto good = fetched("# TYPE a counter\na_total 1\n# TYPE a gauge\na 2\nb 3\n");
    auto bad = fetched("not { an exposition");
    scrape::scrape_result refused;
    refused.error = scrape::scrape_error::connect_refused;
    bodies.take(0, good);
    bodies.take(1, bad);
    bodies.take(2, refused);

    CHECK(good.body.empty());  // taken over: the parsed views point into the kept copy
    REQUIRE(bodies.outcomes()[0].up);
    CHECK(bodies.outcomes()[0].labels == &f.labels[0]);
    CHECK(bodies.outcomes()[0].samples == bodies.expositions()[0].samples.size());
    CHECK(bodies.outcomes()[0].samples_dropped == 1);  // the second TYPE's sample
    CHECK(f.counters.repairs.Add({{"action", "dropped_sample"}}).Value() >= 1);
    CHECK_FALSE(bodies.outcomes()[1].up);
    CHECK(bodies.outcomes()[1].reason == "parse_error");
    CHECK(bodies.expositions()[1].samples.empty());
    CHECK(f.counters.parse_errors.Value() == 1);
    CHECK_FALSE(bodies.outcomes()[2].up);  // settled later from its result
    CHECK_FALSE(bodies.memory_refused());
}

TEST_CASE("an instance's canonical families are held as their lines, the others as samples") {
    answer_fixture f(3);
    instance_bodies bodies(f.endpoints, f.labels, f.counters, f.log);
    auto lines = fetched(
        "# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n"
        "# TYPE g gauge\ng 3\ng{y=\"a b\", z=\"c\"} 4\n");  // not canonical
    // A family repeated under another type: its second block's sample is dropped.
    auto repaired = fetched("# TYPE a counter\na_total 1\n# TYPE a gauge\na 2\nb 3\n");
    auto text = std::string(lines.body);
    bodies.take(0, lines);
    bodies.take(1, repaired);

    const exposition::parsed_exposition& held = bodies.expositions()[0];
    REQUIRE(held.families.size() == 2);
    CHECK(held.families[0].samples_as_lines);
    CHECK(held.families[0].samples.count == 2);
    CHECK(held.line_sizes.size() == 2);
    CHECK_FALSE(held.families[1].samples_as_lines);
    CHECK(held.samples.size() == 2);  // only g's
    CHECK(held.sample_lines == text);
    CHECK(bodies.outcomes()[0].samples == 4);
    // A repaired body keeps its samples as read.
    REQUIRE(bodies.outcomes()[1].samples_dropped == 1);
    for (const exposition::family& family : bodies.expositions()[1].families) {
        CHECK_FALSE(family.samples_as_lines);
    }
    CHECK(bodies.expositions()[1].samples.size() == bodies.outcomes()[1].samples);
}

TEST_CASE("the ceiling refusing a body or its parsed series refuses the answer") {
    answer_fixture f(2);
    core::memory_budget memory(1024);
    instance_bodies bodies(f.endpoints, f.labels, f.counters, f.log);
    // The body's lease fits, its parsed series do not: the body goes back at once.
    auto body = fetched("# TYPE a gauge\na 1\n");
    body.lease = memory.empty_lease(core::memory_use::scrape_bodies);
    REQUIRE(body.lease.grow(900));
    bodies.take(0, body);
    CHECK(bodies.memory_refused());
    CHECK_FALSE(bodies.outcomes()[0].up);
    CHECK(bodies.expositions()[0].samples.empty());
    CHECK(memory.leased() == 0);
    // Later bodies are not read any more.
    auto later = fetched("b 2\n");
    bodies.take(1, later);
    CHECK_FALSE(bodies.outcomes()[1].up);

    instance_bodies second(f.endpoints, f.labels, f.counters, f.log);
    scrape::scrape_result too_big;
    too_big.error = scrape::scrape_error::memory;
    second.take(0, too_big);
    CHECK(second.memory_refused());
}

TEST_CASE("contributions are held, counted and prepared, an unreadable one is left out") {
    answer_fixture f(0);
    std::vector<contributed_exposition> contributed;
    contributed.push_back(
        read_contribution("# TYPE a counter\na_total 1\n# TYPE a counter\na_total 2\n",
                          exposition::format::prometheus_text));
    contributed.back().labels = {{"source", "push"}};
    contributed.push_back(read_contribution("{{{", exposition::format::prometheus_text));
    core::memory_budget memory(std::size_t{1} << 20);

    held_contributions held = hold_contributions(contributed, &memory, f.counters, f.log, "app");
    CHECK_FALSE(held.memory_refused);
    REQUIRE(held.prepared.size() == 2);
    CHECK(held.prepared[0].ok);
    CHECK(held.prepared[0].labels.size() == 1);
    CHECK_FALSE(held.prepared[1].ok);
    CHECK(f.counters.source_errors.Value() == 1);
    CHECK(f.counters.repairs.Add({{"action", "joined"}}).Value() >= 1);
    CHECK(memory.leased() >= contributed[0].storage_bytes + contributed[1].storage_bytes);
    held = {};
    CHECK(memory.leased() == 0);

    // Without a ceiling nothing is leased; with one too small, the answer is refused.
    CHECK_FALSE(hold_contributions(contributed, nullptr, f.counters, f.log, "app").memory_refused);
    core::memory_budget tiny(16);
    CHECK(hold_contributions(contributed, &tiny, f.counters, f.log, "app").memory_refused);
    CHECK(tiny.leased() == 0);
}
