// Samples kept as lines (sample_lines.hpp): a body is kept so only when every sample is a
// canonical line, and the samples expanded from the lines are exactly the ones parsed; the
// merger's answer does not depend on which form a source is held in.
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/sample_lines.hpp>

using namespace mgw::exposition;

namespace {

parsed_exposition read(std::string_view body, format input = format::prometheus_text,
                       label_storage storage = label_storage::raw_when_canonical) {
    parsed_exposition parsed;
    leniency_report report;
    REQUIRE(read_lenient(body, input, parsed, report, {}, storage));
    REQUIRE(report.empty());
    return parsed;
}

void check_same_sample(const sample& expanded, const sample& parsed) {
    CHECK(expanded.name.data() == parsed.name.data());
    CHECK(expanded.name == parsed.name);
    CHECK(expanded.raw_labels_size == parsed.raw_labels_size);
    if (parsed.has_raw_labels()) {
        CHECK(expanded.raw_labels() == parsed.raw_labels());
    }
    CHECK(expanded.labels.count == parsed.labels.count);
    CHECK(expanded.value_text.data() == parsed.value_text.data());
    CHECK(expanded.value_text == parsed.value_text);
    if (std::isnan(parsed.value)) {
        CHECK(std::isnan(expanded.value));
    } else {
        CHECK(expanded.value == parsed.value);
    }
    CHECK(expanded.timestamp_text == parsed.timestamp_text);
    CHECK(!expanded.has_exemplar());
}

// Copies `body` as lines, expecting `as_lines` families kept so, and checks every family: one
// kept as lines expands to its parsed samples (field by field, view by view), any other keeps
// them.
void check_round_trip(std::string_view body, std::size_t as_lines) {
    INFO(body);
    const parsed_exposition parsed = read(body);
    parsed_exposition lines;
    REQUIRE(copy_as_sample_lines(parsed, body, lines) == as_lines);
    REQUIRE(lines.families.size() == parsed.families.size());
    std::size_t kept_samples = 0;
    for (std::size_t fi = 0; fi < parsed.families.size(); ++fi) {
        const family& f = parsed.families[fi];
        const family& l = lines.families[fi];
        CHECK(l.name == f.name);
        CHECK(l.type == f.type);
        CHECK(l.samples.count == f.samples.count);
        std::vector<sample> expanded;
        if (l.samples_as_lines) {
            expand_samples(lines, l, expanded);
        } else {
            expanded.assign(lines.samples.begin() + l.samples.first,
                            lines.samples.begin() + l.samples.first + l.samples.count);
            kept_samples += l.samples.count;
            for (const sample& s : expanded) {
                CHECK(lines.labels.size() >= s.labels.first + s.labels.count);
            }
        }
        REQUIRE(expanded.size() == f.samples.count);
        for (std::uint32_t i = 0; i < f.samples.count; ++i) {
            const sample& p = parsed.samples[f.samples.first + i];
            check_same_sample(expanded[i], p);
            // The writer skips a family's blocks when no name in them has an injected name's
            // bit: every name must have its bit.
            if (p.has_raw_labels()) {
                for_each_raw_label(p.raw_labels(), [&](const label& name) {
                    INFO(name.name);
                    CHECK(((l.raw_label_name_bits >> label_name_bit(name.name)) & 1) == 1);
                });
            }
        }
    }
    CHECK(lines.samples.size() == kept_samples);
}

std::string merged(const std::vector<const parsed_exposition*>& sources,
                   const std::vector<std::vector<label>>& injected, format output) {
    merger m;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        m.add_source(*sources[i], injected[i]);
    }
    std::string out;
    m.start(writer_options{output, false});
    while (!m.write_some(out, 64)) {
    }
    return out;
}

}  // namespace

TEST_CASE("sample lines: canonical bodies are kept as lines and expand to the parsed samples") {
    check_round_trip(
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"GET\",code=\"200\"} 1027\n"
        "http_requests_total{method=\"POST\",code=\"500\"} 3 1395066363000\n"
        "\n"
        "# TYPE temperature gauge\n"
        "temperature NaN\n"
        "temperature{room=\"a}b,c=d\"} +Inf\n"
        "# TYPE other gauge\n"
        "other{} -Inf\n"
        "# TYPE rpc_duration_seconds histogram\n"
        "rpc_duration_seconds_bucket{le=\"0.5\"} 1.5e3\n"
        "rpc_duration_seconds_bucket{le=\"+Inf\"} 2000\n"
        "rpc_duration_seconds_sum 17.25\n"
        "rpc_duration_seconds_count 2000\n"
        "untyped_thing 1\n"
        "untyped_thing_sum{x=\"\"} 2\n"
        "last_line_without_newline{a=\"1\"} 0.5",
        7);
}

TEST_CASE("sample lines: only the families with other lines keep their samples") {
    check_round_trip(
        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\n"
        "# TYPE b gauge\nb{x=\"1\", y=\"2\"} 1\nb{x=\"3\"} 3\n"  // not a canonical block
        "# TYPE c gauge\nc 1\nc{x=\"\\n\"} 2\n"                  // an escape
        "# TYPE d counter\nd_total 1\n",
        2);
}

TEST_CASE("sample lines: a body with any other line keeps its samples") {
    for (const std::string_view body : {
             std::string_view("a{x=\"1\"}  1\n"),          // two spaces
             std::string_view("a{x=\"1\"}\t1\n"),          // a tab
             std::string_view("a{x=\"1\"} 1 \n"),          // a trailing blank
             std::string_view("a{x=\"1\"} 1 17  \n"),      // after the timestamp
             std::string_view("a{x=\"1\", y=\"2\"} 1\n"),  // not a canonical block
             std::string_view("a{x=\"1\",} 1\n"),          // a trailing comma
             std::string_view("a{x=\"a\\\"b\"} 1\n"),      // an escape
             std::string_view("a {x=\"1\"} 1\n"),          // a blank before the block
             std::string_view("a{x=\"1\"} 1\n# a comment\na{x=\"2\"} 2\n"),  // inside a family
         }) {
        INFO(body);
        const parsed_exposition parsed = read(body);
        parsed_exposition lines;
        lines.families.resize(3);
        CHECK(copy_as_sample_lines(parsed, body, lines) == 0);
        CHECK(lines.families.size() == 3);  // left alone
    }
    parsed_exposition lines;
    CHECK(copy_as_sample_lines(read(""), "", lines) == 0);
    CHECK(copy_as_sample_lines(read("# only a comment\n"), "# only a comment\n", lines) == 0);
    SECTION("OpenMetrics") {
        const std::string_view body = "# TYPE a gauge\na{x=\"1\"} 1\n# EOF\n";
        parsed_exposition lines;
        CHECK(copy_as_sample_lines(read(body, format::openmetrics), body, lines) == 0);
    }
    SECTION("labels read one by one") {
        const std::string_view body = "a{x=\"1\"} 1\n";
        parsed_exposition lines;
        CHECK(copy_as_sample_lines(read(body, format::prometheus_text, label_storage::materialized),
                                   body, lines) == 0);
    }
}

TEST_CASE("sample lines: the merged answer is the same whichever form a source is held in") {
    // Two instances with injected labels, and two sources without any that repeat a series (the
    // merger compares the series of such sources, expanding a whole family group at once).
    // In `k`, only the last line has a label named like an injected one (renamed exported_app).
    const std::string a =
        "# TYPE req_total counter\nreq_total{code=\"200\"} 1\nreq_total{code=\"500\"} 2\n"
        "# TYPE t untyped\nt 1\nt_sum 2\nt_count{instance_id=\"x\"} 3\n"
        "# TYPE k gauge\nk{x=\"1\"} 1\nk{x=\"2\"} 2\nk{x=\"3\",app=\"mine\"} 3\n";
    const std::string b =
        "# TYPE req_total counter\nreq_total{code=\"200\"} 4\n# TYPE g gauge\ng{a=\"}\"} 5 17\n"
        "# TYPE h gauge\nh{a=\"1\",b=\"\\\\\"} 6\n"  // an escape: kept as samples
        // Values the writer spells otherwise than they read, and lines without a block.
        "# TYPE v gauge\nv{k=\"1\"} 1e999\nv{k=\"2\"} nan\nv{k=\"3\"} Inf\nv{k=\"4\"} -0\n"
        "v{k=\"5\"} 1.5E3\nv{k=\"6\"} +Inf\nv{k=\"7\"} NaN\nv{k=\"8\"} .5\nv 9\nv{} 10\n"
        "v{k=\"9\"} 0.000000000000000000000000000000000000000000000000000000000000001\n";
    const std::string c = "# TYPE req_total counter\nreq_total{code=\"200\"} 7\nz 1\n";
    const std::string d =
        "# TYPE req_total counter\nreq_total{code=\"200\"} 8\n"
        "req_total{code=\"404\"} 9\nz 2\n";
    const std::vector<std::string> bodies = {a, b, c, d};
    std::vector<parsed_exposition> parsed;
    std::vector<parsed_exposition> lines(bodies.size());
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        parsed.push_back(read(bodies[i]));
        REQUIRE(copy_as_sample_lines(parsed[i], bodies[i], lines[i]) != 0);
    }
    const std::vector<std::vector<label>> injected = {
        {{"instance_id", "0"}, {"app", "x"}}, {{"instance_id", "1"}, {"app", "x"}}, {}, {}};
    for (const format output : {format::prometheus_text, format::openmetrics}) {
        const std::string expected =
            merged({&parsed[0], &parsed[1], &parsed[2], &parsed[3]}, injected, output);
        // Every mix of forms: all lines, and each source alone as lines.
        CHECK(merged({&lines[0], &lines[1], &lines[2], &lines[3]}, injected, output) == expected);
        CHECK(merged({&lines[0], &parsed[1], &lines[2], &parsed[3]}, injected, output) == expected);
        CHECK(merged({&parsed[0], &lines[1], &parsed[2], &lines[3]}, injected, output) == expected);
        // The repeated series was found in the line form too: d's req_total{code="200"} is out.
        CHECK(expected.find("req_total{code=\"200\"} 8") == std::string::npos);
        CHECK(expected.find("req_total{code=\"404\"} 9") != std::string::npos);
        CHECK(expected.find("exported_app=\"mine\"") != std::string::npos);
    }
}
