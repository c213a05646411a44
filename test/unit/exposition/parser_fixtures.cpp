// Real-world bodies: Prometheus' own parser benchmark fixtures (test/corpus/prometheus-textparse),
// parsed whole, with family and sample counts checked against independent line counts.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>

#include "mgw/exposition/parser.hpp"

using mgw::exposition::errc;
using mgw::exposition::format;
using mgw::exposition::metric_type;
using mgw::exposition::parse;
using mgw::exposition::parse_result;
using mgw::exposition::parsed_exposition;

namespace {

std::string fixture(const char* name) {
    const auto path = std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse" / name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Lines that are neither empty nor comments: the samples.
std::size_t count_sample_lines(const std::string& body) {
    std::size_t count = 0;
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t end = body.find('\n', start);
        if (end == std::string::npos)
            end = body.size();
        if (end > start && body[start] != '#')
            ++count;
        start = end + 1;
    }
    return count;
}

void check_views_inside(const parsed_exposition& out, const std::string& body) {
    const auto inside = [&](std::string_view v) {
        return v.empty() ||
               (v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size());
    };
    for (const auto& f : out.families)
        REQUIRE(inside(f.name));
    for (const auto& s : out.samples) {
        REQUIRE(inside(s.name));
        REQUIRE(inside(s.value_text));
        REQUIRE(s.labels.first + s.labels.count <= out.labels.size());
    }
}

}  // namespace

TEST_CASE("parser: alltypes.237mfs.prom.txt parses as 0.0.4 into 237 families, 1857 samples") {
    const std::string body = fixture("alltypes.237mfs.prom.txt");
    parsed_exposition out;
    REQUIRE(parse(body, format::prometheus_text, out));
    CHECK(out.families.size() == 237);
    CHECK(out.samples.size() == 1857);
    CHECK(out.samples.size() == count_sample_lines(body));
    CHECK(std::count(body.begin(), body.end(), '\n') == 2332);
    // Every family had a TYPE line, and the families tile the samples in order.
    std::uint32_t next = 0;
    for (const auto& f : out.families) {
        CHECK(f.has_type);
        CHECK(f.help_present);
        CHECK(f.samples.first == next);
        next += f.samples.count;
    }
    CHECK(next == out.samples.size());
    CHECK(out.families[0].name == "go_gc_cycles_automatic_gc_cycles_total");
    CHECK(out.families[0].type == metric_type::counter);
    check_views_inside(out, body);
    // A second parse into the same object gives the same result.
    REQUIRE(parse(body, format::prometheus_text, out));
    CHECK(out.samples.size() == 1857);
}

TEST_CASE("parser: alltypes.237mfs.nometa.prom.txt groups metadata-less families") {
    const std::string body = fixture("alltypes.237mfs.nometa.prom.txt");
    parsed_exposition out;
    REQUIRE(parse(body, format::prometheus_text, out));
    CHECK(out.samples.size() == 1857);
    CHECK(out.samples.size() == count_sample_lines(body));
    CHECK(out.families.size() == 237);
    for (const auto& f : out.families)
        CHECK_FALSE(f.has_type);
    check_views_inside(out, body);
}

TEST_CASE("parser: 1histogram.om.txt parses as OpenMetrics with its exemplars") {
    const std::string body = fixture("1histogram.om.txt");
    parsed_exposition out;
    REQUIRE(parse(body, format::openmetrics, out));
    REQUIRE(out.families.size() == 1);
    CHECK(out.families[0].type == metric_type::histogram);
    CHECK(out.samples.size() == count_sample_lines(body));
    const auto exemplars = std::count_if(out.samples.begin(), out.samples.end(),
                                         [](const auto& s) { return s.has_exemplar(); });
    std::size_t marked = 0;
    for (auto at = body.find(" # {"); at != std::string::npos; at = body.find(" # {", at + 1)) {
        ++marked;
    }
    CHECK(static_cast<std::size_t>(exemplars) == marked);
    check_views_inside(out, body);
}

TEST_CASE("parser: alltypes.5mfs.om.txt is not valid OpenMetrics 1.0 (negative histogram sum)") {
    // client_golang's example app observes negative durations: its histogram has negative
    // buckets and a negative _sum, which OM 1.0 forbids (the suite's bad_counter_values_5/9).
    const std::string body = fixture("alltypes.5mfs.om.txt");
    parsed_exposition out;
    const parse_result result = parse(body, format::openmetrics, out);
    REQUIRE_FALSE(result);
    CHECK(result.error().message() == "33:1: counter-like value cannot be negative");
    CHECK(result.error().code == errc::rule_violation);
    CHECK(out.families.size() == 3);
}
