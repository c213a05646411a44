// Prometheus text 0.0.4 parsing: structure of the model, the lenient syntax Prometheus accepts,
// the UTF-8 quoted-name extension, and the errors with their exact positions.
#include <cmath>
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

parsed_exposition parse_ok(std::string_view input) {
    parsed_exposition out;
    REQUIRE(parse(input, format::prometheus_text, out));
    return out;
}

std::string parse_failure(std::string_view input) {
    parsed_exposition out;
    const parse_result result = parse(input, format::prometheus_text, out);
    if (result)
        return "parsed";
    return result.error().message();
}

}  // namespace

TEST_CASE("parser: 0.0.4 families, samples and labels are views into the input") {
    const std::string input =
        "# HELP http_requests_total Requests.\\nSecond line \\\\ done\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"get\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "# TYPE rpc histogram\n"
        "rpc_bucket{le=\"0.5\"} 1\n"
        "rpc_bucket{le=\"+Inf\"} 2\n"
        "rpc_sum 0.75\n"
        "rpc_count 2\n"
        "# A free comment\n"
        "plain 4.5e3\n";
    const auto out = parse_ok(input);
    REQUIRE(out.families.size() == 3);
    REQUIRE(out.samples.size() == 7);
    const auto& requests = out.families[0];
    CHECK(requests.name == "http_requests_total");
    CHECK(requests.type == metric_type::counter);
    CHECK(requests.has_type);
    CHECK(requests.help_present);
    CHECK(requests.help == "Requests.\\nSecond line \\\\ done");
    CHECK(requests.samples.first == 0);
    CHECK(requests.samples.count == 2);
    const auto& first = out.samples[0];
    CHECK(first.value == 1027);
    CHECK(first.timestamp_text == "1395066363000");
    REQUIRE(first.labels.count == 2);
    CHECK(out.labels[first.labels.first].name == "method");
    CHECK(out.labels[first.labels.first].value == "get");
    CHECK(out.labels[first.labels.first + 1].value == "200");
    CHECK(out.samples[1].value_text == "3");
    // Views point into the caller's buffer.
    CHECK(first.name.data() >= input.data());
    CHECK(first.name.data() < input.data() + input.size());

    const auto& rpc = out.families[1];
    CHECK(rpc.type == metric_type::histogram);
    CHECK(rpc.samples.first == 2);
    CHECK(rpc.samples.count == 4);
    CHECK(out.samples[4].name == "rpc_sum");
    CHECK(out.samples[4].value == 0.75);

    const auto& plain = out.families[2];
    CHECK(plain.name == "plain");
    CHECK_FALSE(plain.has_type);
    CHECK(plain.type == metric_type::unknown);
    CHECK(out.samples[6].value == 4500);
}

TEST_CASE("parser: 0.0.4 label value escapes are kept raw and flagged") {
    const auto out = parse_ok("a{x=\"q\\\"u\\\\o\\nte\",y=\"plain\",z=\"\\z\"} 1\n");
    REQUIRE(out.labels.size() == 3);
    CHECK(out.labels[0].value == "q\\\"u\\\\o\\nte");
    CHECK(out.labels[0].value_has_escapes);
    CHECK(out.labels[1].value == "plain");
    CHECK_FALSE(out.labels[1].value_has_escapes);
    CHECK(out.labels[2].value == "\\z");
    CHECK(out.labels[2].value_has_escapes);
}

TEST_CASE("parser: 0.0.4 accepts what Prometheus accepts on real bodies") {
    SECTION("trailing comma, blanks around tokens, tabs") {
        const auto out = parse_ok("a{ b = \"1\" ,\tc=\"2\", } \t 1  \n");
        REQUIRE(out.samples.size() == 1);
        CHECK(out.samples[0].labels.count == 2);
        CHECK(out.labels[1].name == "c");
    }
    SECTION("blank before the brace and no blank after it") {
        const auto out = parse_ok("a {b=\"1\"}2\n");
        CHECK(out.samples[0].value == 2);
    }
    SECTION("comments anywhere, TYPE before HELP, empty lines, no final newline") {
        const auto out = parse_ok(
            "#comment\n# TYPE a gauge\n\n# HELPER is a comment\n"
            "# HELP a help text\na 1\n# another\nb 2");
        REQUIRE(out.families.size() == 2);
        CHECK(out.families[0].help == "help text");
        CHECK(out.families[0].type == metric_type::gauge);
        CHECK(out.samples[1].value == 2);
    }
    SECTION("HELP without text and HELP after the samples") {
        const auto out = parse_ok("# HELP a\na 1\n# HELP b\nb 1\n");
        CHECK(out.families[0].help_present);
        CHECK(out.families[0].help.empty());
    }
    SECTION("NaN and infinities in any case, signs, exponents") {
        const auto out = parse_ok(
            "a{x=\"1\"} NaN\na{x=\"2\"} +Inf\na{x=\"3\"} -inf\na{x=\"4\"} nan\n"
            "a{x=\"5\"} -1.5E-3\na{x=\"6\"} +7\na{x=\"7\"} .5\na{x=\"8\"} 5.\n"
            "a{x=\"9\"} Infinity\n");
        REQUIRE(out.samples.size() == 9);
        CHECK(std::isnan(out.samples[0].value));
        CHECK(out.samples[1].value == INFINITY);
        CHECK(out.samples[2].value == -INFINITY);
        CHECK(std::isnan(out.samples[3].value));
        CHECK(out.samples[4].value == -0.0015);
        CHECK(out.samples[5].value == 7);
        CHECK(out.samples[6].value == 0.5);
        CHECK(out.samples[7].value == 5);
        CHECK(out.samples[8].value == INFINITY);
        CHECK(out.samples[1].value_text == "+Inf");
    }
    SECTION("exact conversion of long and large numbers") {
        const auto out = parse_ok(
            "a{x=\"1\"} 9223372036854775808\na{x=\"2\"} 0.1\n"
            "a{x=\"3\"} 1.7976931348623157e308\na{x=\"4\"} 1e400\n"
            "a{x=\"5\"} 0.30000000000000004441\na{x=\"6\"} 123456789012345678901234\n");
        CHECK(out.samples[0].value == 9223372036854775808.0);
        CHECK(out.samples[1].value == 0.1);
        CHECK(out.samples[2].value == 1.7976931348623157e308);
        CHECK(out.samples[3].value == INFINITY);
        CHECK(out.samples[4].value == 0.30000000000000004);
        CHECK(out.samples[5].value == 123456789012345678901234.0);
    }
    SECTION("timestamps are integer milliseconds, negative allowed") {
        const auto out = parse_ok("a 1 -1500\nb 1 9223372036854775807\n");
        CHECK(out.samples[0].timestamp_text == "-1500");
        CHECK(out.samples[1].timestamp_text == "9223372036854775807");
    }
    SECTION("summary and histogram samples stay in their TYPE'd family") {
        const auto out = parse_ok(
            "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
            "s_created 4\n");
        REQUIRE(out.families.size() == 2);
        CHECK(out.families[0].samples.count == 3);
        CHECK(out.families[1].name == "s_created");
    }
    SECTION("metadata-less summaries keep quantiles, _sum and _count together") {
        const auto out = parse_ok(
            "d{s=\"a\",quantile=\"0.5\"} 1\nd_sum{s=\"a\"} 2\nd_count{s=\"a\"} 3\n"
            "d{s=\"b\",quantile=\"0.5\"} 1\nd_sum{s=\"b\"} 2\nd_count{s=\"b\"} 3\n");
        REQUIRE(out.families.size() == 1);
        CHECK(out.families[0].samples.count == 6);
    }
    SECTION("NUL bytes inside label values and HELP") {
        const std::string input("# HELP a he\0lp\na{b=\"\0ss\"} 1\n", 27);
        const auto out = parse_ok(input);
        CHECK(out.families[0].help.size() == 5);
        CHECK(out.labels[0].value.size() == 3);
    }
}

TEST_CASE("parser: 0.0.4 UTF-8 metric and label names in quotes") {
    const std::string input =
        "# HELP \"go.gc_duration_seconds\" A summary of the GC invocation durations.\n"
        "# TYPE \"go.gc_duration_seconds\" summary\n"
        "{\"go.gc_duration_seconds\",quantile=\"0\"} 4.9351e-05\n"
        "{\"go.gc_duration_seconds\",quantile=\"0.25\",} 7.424100000000001e-05\n"
        "{\"go.gc_duration_seconds\", quantile=\"0.9\", a=\"b\"} 8.3835e-05\n"
        "# Hrandom comment starting with prefix of HELP\n"
        "#\n"
        "{\"go.gc_duration_seconds_count\"} 99\n"
        "{\"Heizölrückstoßabdämpfung 10€ metric with \\\"interesting\\\" {character\\nchoices}\","
        "\"strange©™\\n'quoted' \\\"name\\\"\"=\"6\"} 10.0\n"
        "some_metric{\"label.with.dots\"=\"x\"} 1\n";
    const auto out = parse_ok(input);
    REQUIRE(out.families.size() == 3);
    CHECK(out.families[0].name == "go.gc_duration_seconds");
    CHECK(out.families[0].type == metric_type::summary);
    CHECK(out.families[0].samples.count == 4);
    CHECK(out.samples[0].name == "go.gc_duration_seconds");
    CHECK(out.samples[0].labels.count == 1);
    CHECK(out.samples[2].labels.count == 2);
    CHECK(out.samples[3].name == "go.gc_duration_seconds_count");
    CHECK(out.samples[4].value == 10);
    const auto& strange = out.labels[out.samples[4].labels.first];
    CHECK(strange.name_was_quoted);
    CHECK(strange.name == "strange©™\\n'quoted' \\\"name\\\"");
    CHECK(strange.value == "6");
    CHECK(out.labels[out.samples[5].labels.first].name == "label.with.dots");
}

TEST_CASE("parser: 0.0.4 errors carry line:column and a reason") {
    CHECK(parse_failure("a 1\nb{c=\"d\"\n") == "2:8: unterminated label set");
    CHECK(parse_failure("a{b=\"c} 1\n") == "1:5: unterminated label value");
    CHECK(parse_failure("a{b=c} 1\n") == "1:5: expected quoted label value");
    CHECK(parse_failure("a{b} 1\n") == "1:4: expected '=' after label name");
    CHECK(parse_failure("a{1=\"x\"} 1\n") == "1:3: invalid label name");
    CHECK(parse_failure("a{b=\"1\" c=\"2\"} 1\n") == "1:9: expected ',' or '}' after label value");
    CHECK(parse_failure("a{b=\"1\",b=\"2\"} 1\n") == "1:9: duplicate label name");
    CHECK(parse_failure("a\n") == "1:2: missing value");
    CHECK(parse_failure("a{b=\"1\"}\n") == "1:9: missing value");
    CHECK(parse_failure("a 0x1p-3\n") == "1:3: invalid value");
    CHECK(parse_failure("a 1_2\n") == "1:3: invalid value");
    CHECK(parse_failure("a 1e\n") == "1:3: invalid value");
    CHECK(parse_failure("a -nan\n") == "1:3: invalid value");
    CHECK(parse_failure("a 1 1.5\n") == "1:5: invalid timestamp (integer milliseconds expected)");
    CHECK(parse_failure("a 1 9223372036854775808\n") ==
          "1:5: invalid timestamp (integer milliseconds expected)");
    CHECK(parse_failure("a 1 2 3\n") == "1:7: unexpected text after timestamp");
    CHECK(parse_failure("a-b 1\n") == "1:2: invalid character in metric name");
    CHECK(parse_failure("0a 1\n") == "1:1: invalid metric name");
    CHECK(parse_failure("{b=\"1\"} 1\n") == "1:1: missing metric name");
    CHECK(parse_failure("a{\"x\",\"y\"} 1\n") ==
          "1:3: metric name given twice or misplaced in label set");
    CHECK(parse_failure("# TYPE a gauges\n") == "1:10: invalid metric type");
    CHECK(parse_failure("# TYPE a\n") == "1:9: invalid metric type");
    CHECK(parse_failure("# HELP 1a x\n") == "1:8: invalid metric name");
}

TEST_CASE("parser: 0.0.4 families must be contiguous and described once") {
    CHECK(parse_failure("# TYPE a gauge\n# TYPE a gauge\na 1\n") ==
          "2:8: duplicate TYPE for a family");
    CHECK(parse_failure("# HELP a x\n# HELP a y\n") == "2:8: duplicate HELP for a family");
    CHECK(parse_failure("a 1\nb 1\na 2\n") ==
          "3:1: family not contiguous: samples of a family seen earlier");
    CHECK(parse_failure("# TYPE a gauge\na 1\nb 1\n# HELP a again\n") ==
          "4:8: duplicate family: metadata for a family seen earlier");
    CHECK(parse_failure("a 1\n# TYPE a gauge\n") == "2:8: TYPE after samples of its family");
    CHECK(parse_failure("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nx 1\nh_count 1\n") ==
          "4:1: family not contiguous: samples of a family seen earlier");
    CHECK(parse_failure("h_count 1\n# TYPE h histogram\n") ==
          "2:8: family name clashes with an earlier family");
    // A counter sample named like the family's _created is a separate family in 0.0.4.
    parsed_exposition out;
    CHECK(parse("# TYPE c counter\nc 1\nc_created 2\n", format::prometheus_text, out));
    CHECK(out.families.size() == 2);
}
