// OpenMetrics parsing into the model: family names without _total/_info, units, exemplars
// with their own labels, float-second timestamps, and the validation errors' positions.
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "mgw/exposition/parser.hpp"

using mgw::exposition::format;
using mgw::exposition::metric_type;
using mgw::exposition::parse;
using mgw::exposition::parse_result;
using mgw::exposition::parsed_exposition;

namespace {

std::string om_failure(std::string_view input) {
    parsed_exposition out;
    const parse_result result = parse(input, format::openmetrics, out);
    if (result)
        return "parsed";
    return result.error().message();
}

}  // namespace

TEST_CASE("parser: OpenMetrics families, units, exemplars and timestamps in the model") {
    const std::string input =
        "# TYPE cc_seconds counter\n"
        "# UNIT cc_seconds seconds\n"
        "# HELP cc_seconds A \\\"counter\\\"\n"
        "cc_seconds_total{a=\"1\"} 1.5 1700000000.25 # {trace_id=\"abc\",span=\"x\\\"y\"} 0.5 "
        "1700000000.125\n"
        "cc_seconds_created{a=\"1\"} 1699999999 1700000000.25\n"
        "# TYPE build info\n"
        "build_info{version=\"1.2\"} 1\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"0.1\"} 1 # {} 0.05\n"
        "h_bucket{le=\"+Inf\"} 2\n"
        "h_count 2\n"
        "h_sum 0.3\n"
        "# EOF\n";
    parsed_exposition out;
    REQUIRE(parse(input, format::openmetrics, out));
    CHECK(out.source_format == format::openmetrics);
    REQUIRE(out.families.size() == 3);
    const auto& cc = out.families[0];
    CHECK(cc.name == "cc_seconds");
    CHECK(cc.type == metric_type::counter);
    CHECK(cc.unit == "seconds");
    CHECK(cc.help == "A \\\"counter\\\"");
    CHECK(cc.samples.count == 2);
    const auto& total = out.samples[0];
    CHECK(total.name == "cc_seconds_total");
    CHECK(total.timestamp_text == "1700000000.25");
    REQUIRE(total.has_exemplar());
    CHECK(total.labels.count == 1);
    CHECK(out.exemplar_of(total).labels.first == total.labels.first + 1);
    REQUIRE(out.exemplar_of(total).labels.count == 2);
    CHECK(out.labels[out.exemplar_of(total).labels.first].name == "trace_id");
    CHECK(out.labels[out.exemplar_of(total).labels.first + 1].value == "x\\\"y");
    CHECK(out.exemplar_of(total).value == 0.5);
    CHECK(out.exemplar_of(total).value_text == "0.5");
    CHECK(out.exemplar_of(total).timestamp_text == "1700000000.125");
    CHECK_FALSE(out.samples[1].has_exemplar());

    CHECK(out.families[1].name == "build");
    CHECK(out.families[1].type == metric_type::info);
    CHECK(out.samples[2].name == "build_info");

    const auto& h = out.families[2];
    CHECK(h.type == metric_type::histogram);
    CHECK(h.samples.first == 3);
    CHECK(h.samples.count == 4);
    CHECK(out.samples[3].has_exemplar());
    CHECK(out.exemplar_of(out.samples[3]).labels.count == 0);
    CHECK(out.exemplar_of(out.samples[3]).timestamp_text.empty());
}

TEST_CASE("parser: OpenMetrics validation errors are positioned") {
    CHECK(om_failure("a 1\n\n# EOF\n") == "2:1: blank line");
    CHECK(om_failure("a 1\n# EOF\n\n") == "3:1: text after # EOF");
    CHECK(om_failure("# TYPE a counter\n# TYPE a counter\n# EOF\n") ==
          "2:1: duplicate TYPE for a family");
    CHECK(om_failure("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n") ==
          "3:1: metadata after samples of its family");
    CHECK(om_failure("# TYPE a_created gauge\n# TYPE a counter\n# EOF\n") ==
          "2:8: metric family name clashes with an earlier family");
    CHECK(om_failure("# TYPE a gauge\na 1\nb 1\na 2\n# EOF\n") ==
          "4:1: metric family name clashes with an earlier family");
    CHECK(om_failure("# TYPE a counter\na_total -1\n# EOF\n") ==
          "2:1: counter-like value cannot be negative");
    CHECK(om_failure("# TYPE a gauge\na 1 # {b=\"c\"} 1\n# EOF\n") ==
          "2:1: exemplars are allowed only on counter _total and histogram _bucket samples");
    CHECK(
        om_failure("# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"+Inf\"} 0\n# EOF\n") ==
        "3:1: histogram bucket counts decrease");
    CHECK(om_failure("# TYPE a histogram\na_bucket{le=\"1\"} 1\n# EOF\n") ==
          "2:1: histogram without a +Inf bucket");
    CHECK(om_failure("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n# EOF\n") ==
          "4:1: metric not contiguous: its samples are interleaved with another metric's");
    CHECK(om_failure("# TYPE a gauge\na 1 2\na 1 1\n# EOF\n") ==
          "3:1: timestamps went backwards within a metric");
    CHECK(om_failure("# UNIT a_s s\n# TYPE a_s info\n# EOF\n") ==
          "1:12: info and stateset families cannot have a unit");
    CHECK(om_failure("# UNIT a seconds\n# EOF\n") ==
          "1:10: unit is not a suffix of the metric family name");
    CHECK(om_failure("a 1 # {b=\"c\"} x\n# EOF\n") == "1:15: invalid exemplar value");
    CHECK(om_failure("a 1 1 Inf\n# EOF\n") == "1:7: unexpected text after timestamp");
    CHECK(om_failure("a 1 NaN\n# EOF\n") == "1:5: invalid timestamp");
    CHECK(om_failure(" # HELP a x\n# EOF\n") == "1:1: invalid metric name");
    CHECK(om_failure("# random comment\n# EOF\n") ==
          "1:1: invalid comment: only # HELP, # TYPE, # UNIT and # EOF are allowed");
    CHECK(om_failure("# HELPS a x\n# EOF\n") ==
          "1:1: invalid comment: only # HELP, # TYPE, # UNIT and # EOF are allowed");
    CHECK(om_failure("# NOTE a x\n# EOF\n") == "1:3: unknown metadata keyword");
    // Non-finite values are case-insensitive in OpenMetrics, NaN unsigned.
    CHECK(om_failure("a{x=\"1\"} iNf\na{x=\"2\"} -INFINITY\na{x=\"3\"} nAn\n# EOF\n") == "parsed");
    CHECK(om_failure("a -NaN\n# EOF\n") == "1:3: invalid value");
}

TEST_CASE("parser: OpenMetrics exemplar labels are limited to 128 code points") {
    const std::string at_limit(127, 'x');  // + the name "b": 128
    const std::string over = at_limit + "x";
    const auto body = [](const std::string& value) {
        return "# TYPE a counter\na_total 1 # {b=\"" + value + "\"} 1\n# EOF\n";
    };
    CHECK(om_failure(body(at_limit)) == "parsed");
    CHECK(om_failure(body(over)) == "2:147: exemplar labels longer than 128 code points");
    // Escapes count as the one character they stand for; multi-byte characters as one.
    CHECK(om_failure(body("\\\"" + std::string(126, 'x'))) == "parsed");
    std::string snowmen;
    for (int i = 0; i < 127; ++i)
        snowmen += "\xe2\x98\x83";
    CHECK(om_failure(body(snowmen)) == "parsed");
    CHECK(om_failure(body(snowmen + "x")).find("exemplar labels longer") != std::string::npos);
}
