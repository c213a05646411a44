// Unit tests: a cluster's /metrics/proxy, every node's own metrics (as the original proxy's
// meters serialise them) combined with a gateway_node label per node, each family once.
#include "proxy_combine.hpp"

#include <regex>

#include <catch2/catch.hpp>
#include <prometheus/text_serializer.h>

#include <mgw/exposition/parser.hpp>

#include "proxy_metrics.hpp"

using namespace mgw;
using namespace mgw::rsocket;

namespace {

// One node's /metrics/proxy text after `clients` connected clients and `pulls` pulls.
std::string node_text(original_metrics& metrics, int clients, int pulls) {
    const auto now = original_metrics::clock::now();
    for (int i = 0; i < pulls; ++i) {
        metrics.record_scrape("SUCCESS", "None", 0.25, 1000, now);
    }
    metrics.active.Set(clients);
    metrics.refresh(now);
    return prometheus::TextSerializer().Serialize(metrics.registry.Collect());
}

std::size_t count(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern, std::regex::multiline);
    return static_cast<std::size_t>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("each node's proxy metrics keep their own series, labelled with the node") {
    original_metrics a_metrics;
    original_metrics b_metrics;
    const std::string a = node_text(a_metrics, 0, 0);
    const std::string b = node_text(b_metrics, 2, 3);
    const std::vector<node_proxy_metrics> nodes{{.node = "g1", .text = a},
                                                {.node = "g2", .text = b}};
    std::string out;
    const proxy_combine_report report = combine_proxy_metrics(
        nodes, {.output = exposition::format::prometheus_text, .utf8_names = false}, out);
    CHECK(report.combined == 2);
    CHECK(report.unreadable == 0);
    CHECK(report.conflicts == 0);
    INFO(out);
    // Every family once, with both nodes' series.
    CHECK(count(out, "^# TYPE prometheus_proxy_scrape_active_connections gauge$") == 1);
    CHECK(count(out, R"(^prometheus_proxy_scrape_active_connections\{gateway_node="g1"\} 0$)") ==
          1);
    CHECK(count(out, R"(^prometheus_proxy_scrape_active_connections\{gateway_node="g2"\} 2$)") ==
          1);
    CHECK(count(out, R"(^prometheus_proxy_scrape_payload_bytes_count\{gateway_node="g2"\} 3$)") ==
          1);
    CHECK(count(out, R"(^prometheus_proxy_scrape_payload_bytes_count\{gateway_node="g1"\} 0$)") ==
          1);
    CHECK(count(out, R"(^prometheus_proxy_scrape_seconds_count\{.*gateway_node="g2".*\} 3$)") == 1);
    // No series without its node.
    CHECK(count(out, R"(^prometheus_proxy_[a-z_]+(\{\})? )") == 0);
    // The answer is one valid exposition.
    exposition::parsed_exposition parsed;
    CHECK(exposition::parse(out, exposition::format::prometheus_text, parsed));
}

TEST_CASE(
    "the combined proxy metrics negotiate OpenMetrics, and a node that does not parse is "
    "left out") {
    original_metrics a_metrics;
    const std::string a = node_text(a_metrics, 1, 1);
    const std::string broken = "prometheus_proxy_scrape_active_connections{ 1\n";
    const std::string odd_node = "node \"7\"\\";
    const std::vector<node_proxy_metrics> nodes{{.node = odd_node, .text = a},
                                                {.node = "g2", .text = broken}};
    std::string out;
    const proxy_combine_report report = combine_proxy_metrics(
        nodes, {.output = exposition::format::openmetrics, .utf8_names = false}, out);
    CHECK(report.combined == 1);
    CHECK(report.unreadable == 1);
    INFO(out);
    CHECK(out.ends_with("# EOF\n"));
    CHECK(out.find("g2") == std::string::npos);
    CHECK(
        out.find(R"(prometheus_proxy_scrape_active_connections{gateway_node="node \"7\"\\"} 1)") !=
        std::string::npos);
    exposition::parsed_exposition parsed;
    CHECK(exposition::parse(out, exposition::format::openmetrics, parsed));

    // No node readable: an empty exposition, still valid.
    std::string empty;
    const std::vector<node_proxy_metrics> only_broken{{.node = "g2", .text = broken}};
    CHECK(combine_proxy_metrics(only_broken, {.output = exposition::format::openmetrics}, empty)
              .combined == 0);
    CHECK(empty == "# EOF\n");
}
