// Unit tests: read_contribution, the one step from a source's body received as text to the
// parsed contribution an app answer merges: read leniently (with its repairs reported) or
// checked as it stands, the bytes owned by the contribution, and what is no exposition refused
// with its reason; and the contribution's series stay valid when contributions move.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/writer.hpp>

#include "apps/answer_decision.hpp"

using namespace mgw;
using apps::contribution_check;
using apps::read_contribution;

namespace {

std::string text_of(const apps::contributed_exposition& contribution) {
    std::string text;
    exposition::write_exposition(text, contribution.parsed, {});
    return text;
}

// A family that comes back further down: Prometheus ingests it, parse() refuses it.
const std::string repeated_family =
    "# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 2\na{x=\"2\"} 3\n";

}  // namespace

TEST_CASE("read_contribution: a body is parsed into the contribution that owns it") {
    std::string body = "# HELP q Queue depth.\n# TYPE q gauge\nq{queue=\"mail\"} 7\n";
    const std::string expected = body;
    const apps::contributed_exposition c =
        read_contribution(std::move(body), exposition::format::prometheus_text);
    REQUIRE(c.readable());
    CHECK(c.repairs.empty());
    CHECK(c.labels.empty());
    REQUIRE(c.storage);
    const auto* owned = static_cast<const std::string*>(c.storage.get());
    CHECK(*owned == expected);
    CHECK(c.storage_bytes == owned->capacity());
    REQUIRE(c.parsed.samples.size() == 1);
    // Zero copy: the series point into the bytes the contribution holds.
    CHECK(c.parsed.samples[0].name.data() >= owned->data());
    CHECK(c.parsed.samples[0].name.data() < owned->data() + owned->size());
    CHECK(c.parsed.samples[0].has_raw_labels());  // kept as a block, as for the instances
    CHECK(text_of(c) == expected);
}

TEST_CASE("read_contribution: leniently, what Prometheus ingests is repaired and reported") {
    const apps::contributed_exposition c =
        read_contribution(repeated_family, exposition::format::prometheus_text);
    REQUIRE(c.readable());
    CHECK(c.repairs.count(exposition::leniency_action::joined) == 1);
    CHECK(text_of(c) == "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 3\n# TYPE b gauge\nb 2\n");

    // Checked as it stands (an external exporter), the same body is refused.
    const apps::contributed_exposition checked = read_contribution(
        repeated_family, exposition::format::prometheus_text, contribution_check::valid);
    REQUIRE_FALSE(checked.readable());
    CHECK(checked.error->line == 5);
    CHECK_FALSE(checked.error->message().empty());
    CHECK(checked.parsed.samples.empty());
    CHECK(checked.parsed.families.empty());
    // A valid body passes the check and is read like any other.
    const apps::contributed_exposition valid = read_contribution(
        "# TYPE b gauge\nb 2\n", exposition::format::prometheus_text, contribution_check::valid);
    REQUIRE(valid.readable());
    CHECK(valid.repairs.empty());
    CHECK(text_of(valid) == "# TYPE b gauge\nb 2\n");
}

TEST_CASE("read_contribution: what is no exposition is refused with its reason") {
    for (const auto check : {contribution_check::lenient, contribution_check::valid}) {
        const apps::contributed_exposition c =
            read_contribution("queue_depth{ 1\n", exposition::format::prometheus_text, check);
        REQUIRE_FALSE(c.readable());
        CHECK(c.error->line == 1);
        CHECK(c.parsed.samples.empty());
        // It still holds its bytes until the answer lets it go (the memory ceiling counts them).
        CHECK(c.storage_bytes >= std::string_view("queue_depth{ 1\n").size());
        apps::prepared_contribution prepared;
        CHECK_FALSE(prepared.prepare(c));
        CHECK_FALSE(prepared.ok);
    }
    // OpenMetrics without its # EOF is no OpenMetrics exposition.
    CHECK_FALSE(
        read_contribution("# TYPE a gauge\na 1\n", exposition::format::openmetrics).readable());
    CHECK(read_contribution("# TYPE a gauge\na 1\n# EOF\n", exposition::format::openmetrics)
              .readable());
}

TEST_CASE("contributions keep their series valid when they move, synthesized text included") {
    // A histogram without any bucket: the lenient read makes the `+Inf` bucket's name up, and
    // the model points into text the contribution holds beside the body.
    const std::string histogram = "# TYPE h histogram\nh_count 2\nh_sum 1\n";
    std::vector<apps::contributed_exposition> contributed;
    for (int i = 0; i < 40; ++i) {  // enough to reallocate several times
        contributed.push_back(read_contribution(histogram, exposition::format::prometheus_text));
        contributed.back().labels = {{"n", std::to_string(i)}};
    }
    REQUIRE(contributed[0].repairs.count(exposition::leniency_action::repaired) == 1);
    REQUIRE_FALSE(contributed[0].parsed.synthesized_text.empty());
    std::vector<apps::prepared_contribution> prepared(contributed.size());
    exposition::merger merger;
    for (std::size_t i = 0; i < contributed.size(); ++i) {
        REQUIRE(prepared[i].prepare(contributed[i]));
        merger.add_source(*prepared[i].parsed, prepared[i].labels);
    }
    const std::string merged = merger.write_all({});
    CHECK(merged.find("h_bucket{le=\"+Inf\",n=\"0\"} 2\n") != std::string::npos);
    CHECK(merged.find("h_bucket{le=\"+Inf\",n=\"39\"} 2\n") != std::string::npos);
}
