// Unit tests: a peer's local contributions rendered as one exposition with their labels, and
// that text read back as the contribution the asking node merges.
#include "cluster/peer_reply.hpp"

#include <catch2/catch.hpp>

#include <mgw/exposition/parser.hpp>

using mgw::apps::contributed_exposition;

namespace {

contributed_exposition text_contribution(std::string text) {
    return mgw::apps::read_contribution(std::move(text), mgw::exposition::format::prometheus_text);
}

}  // namespace

TEST_CASE("contributions render as one OpenMetrics exposition with their labels") {
    std::vector<contributed_exposition> held;
    held.push_back(
        text_contribution("# TYPE jvm_memory_used gauge\njvm_memory_used{area=\"heap\"} 42.5\n"));
    held[0].labels = {{"app_id", "g-1"}, {"instance_id", "0"}, {"source", "push"}};
    held.push_back(
        text_contribution("# TYPE jvm_memory_used gauge\njvm_memory_used{area=\"heap\"} 7\n"
                          "# TYPE requests_total counter\nrequests_total 3\n"));
    held[1].labels = {
        {"app_id", "g-1"}, {"instance_id", "1"}, {"source", "push"}, {"note", "say \"hi\"\n"}};
    held.push_back(text_contribution("this is { not an exposition"));
    std::string text;
    const auto report = mgw::cluster::render_contributions(held, text);
    CHECK(report.rendered == 2);
    CHECK(report.unreadable == 1);
    // One family block for the metric both share, each sample with its own labels.
    CHECK(text ==
          "# TYPE jvm_memory_used gauge\n"
          "jvm_memory_used{area=\"heap\",app_id=\"g-1\",instance_id=\"0\",source=\"push\"} 42.5\n"
          "jvm_memory_used{area=\"heap\",app_id=\"g-1\",instance_id=\"1\",source=\"push\","
          "note=\"say \\\"hi\\\"\\n\"} 7\n"
          "# TYPE requests counter\n"
          "requests_total{app_id=\"g-1\",instance_id=\"1\",source=\"push\","
          "note=\"say \\\"hi\\\"\\n\"} 3\n"
          "# EOF\n");

    // Read back as the asking node reads a peer's reply: OpenMetrics, nothing to repair.
    const contributed_exposition back = mgw::cluster::peer_contribution(text);
    REQUIRE(back.readable());
    CHECK(back.repairs.empty());
    CHECK(back.labels.empty());
    CHECK(back.parsed.samples.size() == 3);
}

TEST_CASE("nothing readable renders nothing") {
    std::vector<contributed_exposition> held;
    held.push_back(text_contribution("{{{"));
    std::string text;
    const auto report = mgw::cluster::render_contributions(held, text);
    CHECK(report.rendered == 0);
    CHECK(text.empty());
    CHECK(mgw::cluster::render_contributions({}, text).rendered == 0);
    CHECK(text.empty());
}
