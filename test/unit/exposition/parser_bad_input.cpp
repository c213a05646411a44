// Hostile and broken input: limits, truncation, bad escapes, NUL bytes, invalid UTF-8. Every
// case must end in a clean error (never a crash, never unbounded work), in both formats.
#include <chrono>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "mgw/exposition/check.hpp"
#include "mgw/exposition/parser.hpp"

using mgw::exposition::errc;
using mgw::exposition::format;
using mgw::exposition::parse;
using mgw::exposition::parse_limits;
using mgw::exposition::parse_result;
using mgw::exposition::parsed_exposition;

namespace {

std::string failure(std::string_view input, format fmt, const parse_limits& limits = {}) {
    parsed_exposition out;
    const parse_result result = parse(input, fmt, out, limits);
    if (result)
        return "parsed";
    return result.error().message();
}

// The kind of fault of a refused parse; a default error_code when it parsed.
boost::system::error_code failure_code(std::string_view input, format fmt,
                                       const parse_limits& limits = {}) {
    parsed_exposition out;
    const parse_result result = parse(input, fmt, out, limits);
    return result ? boost::system::error_code() : result.error().code;
}

}  // namespace

TEST_CASE("parser: a 10 MB label value is rejected quickly and cleanly") {
    std::string input = "a{b=\"";
    input.append(10 * 1024 * 1024, 'x');
    input += "\"} 1\n";
    const auto start = std::chrono::steady_clock::now();
    CHECK(failure(input, format::prometheus_text) == "1:4194305: line longer than the limit");
    CHECK(failure(input, format::openmetrics) == "1:4194305: line longer than the limit");
    // With a line limit above it, the label value limit applies.
    parse_limits roomy;
    roomy.max_line_bytes = 16 << 20;
    CHECK(failure(input, format::prometheus_text, roomy) ==
          "1:5: label value longer than the limit");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("parser: label, sample and line limits are enforced") {
    parse_limits limits;
    limits.max_labels_per_sample = 2;
    CHECK(failure("a{x=\"1\",y=\"2\"} 1\n", format::prometheus_text, limits) == "parsed");
    CHECK(failure("a{x=\"1\",y=\"2\",z=\"3\"} 1\n", format::prometheus_text, limits) ==
          "1:15: more labels than the limit");
    limits = {};
    limits.max_samples = 2;
    CHECK(failure("a 1\nb 2\n", format::prometheus_text, limits) == "parsed");
    CHECK(failure("a 1\nb 2\nc 3\n", format::prometheus_text, limits) ==
          "3:1: more samples than the limit");
    CHECK(failure("a 1\nb 2\nc 3\n# EOF\n", format::openmetrics, limits) ==
          "3:1: more samples than the limit");
    limits = {};
    limits.max_line_bytes = 8;
    CHECK(failure("a 1\nbbbbbb 1\n", format::prometheus_text, limits) == "parsed");
    CHECK(failure("a 1\nbbbbbbb 1\n", format::prometheus_text, limits) ==
          "2:9: line longer than the limit");
    limits.max_line_bytes = 3;
    CHECK(failure("a 1\n", format::prometheus_text, limits) == "parsed");
    CHECK(failure("a 1", format::prometheus_text, limits) == "parsed");
    CHECK(failure("a 12", format::prometheus_text, limits) == "1:4: line longer than the limit");
    limits.max_line_bytes = SIZE_MAX;
    CHECK(failure("a 1\nb 2\n", format::prometheus_text, limits) == "parsed");
    limits = {};
    limits.max_label_value_bytes = 3;
    CHECK(failure("a{x=\"abcd\"} 1\n# EOF\n", format::openmetrics, limits) ==
          "1:5: label value longer than the limit");
}

TEST_CASE("parser: truncated input gives a positioned error") {
    const std::string full = "# TYPE a counter\na_total{b=\"c\",d=\"e\"} 1 2\n# EOF\n";
    parsed_exposition out;
    REQUIRE(parse(full, format::openmetrics, out));
    // Every proper prefix is invalid OpenMetrics (no # EOF), and parsing it never crashes.
    for (std::size_t n = 0; n < full.size() - 1; ++n) {
        INFO("prefix length " << n);
        const parse_result prefix =
            parse(std::string_view(full).substr(0, n), format::openmetrics, out);
        REQUIRE_FALSE(prefix);
        CHECK(prefix.error().line >= 1);
        CHECK(prefix.error().column >= 1);
        (void)parse(std::string_view(full).substr(0, n), format::prometheus_text, out);
    }
    CHECK(failure("a{b=\"c", format::prometheus_text) == "1:5: unterminated label value");
    CHECK(failure("a{b=\"c\\", format::prometheus_text) == "1:5: unterminated label value");
    CHECK(failure("a{b=\"c\",", format::prometheus_text) == "1:9: unterminated label set");
    CHECK(failure("a 1\n# EOF", format::openmetrics) == "parsed");
    CHECK(failure("a 1\n", format::openmetrics) == "2:1: missing # EOF at the end");
    CHECK(failure("a 1", format::openmetrics) == "1:4: missing # EOF at the end");
    CHECK(failure("", format::openmetrics) == "1:1: missing # EOF at the end");
}

TEST_CASE("parser: escapes in label values") {
    // Any backslash escape is syntactically fine (unknown ones are kept verbatim) ...
    CHECK(failure("a{b=\"\\q\\\\\\\"\"} 1\n", format::prometheus_text) == "parsed");
    CHECK(failure("a{b=\"\\q\"} 1\n# EOF\n", format::openmetrics) == "parsed");
    // ... but an escaped closing quote leaves the string open, a raw one closes it early.
    CHECK(failure("a{b=\"x\\\"} 1\n", format::prometheus_text) == "1:5: unterminated label value");
    CHECK(failure("a{b=\"x\"y\"} 1\n# EOF\n", format::openmetrics) ==
          "1:8: expected ',' or '}' after label value");
}

TEST_CASE("parser: NUL bytes only where the formats allow them") {
    using namespace std::string_literals;
    CHECK(failure("# TYPE a counter\n# HELP a he\0lp\n# EOF\n"s, format::openmetrics) == "parsed");
    CHECK(failure("a{b=\"\0\"} 1\n# EOF\n"s, format::openmetrics) == "parsed");
    CHECK(failure("a\0 1\n"s, format::prometheus_text) == "1:2: invalid character in metric name");
    CHECK(failure("a{b\0=\"x\"} 1\n"s, format::prometheus_text) ==
          "1:4: expected '=' after label name");
    CHECK(failure("a{b=\0\"x\"} 1\n"s, format::prometheus_text) ==
          "1:5: expected quoted label value");
    CHECK(failure("a 1\0\n"s, format::prometheus_text) == "1:3: invalid value");
    CHECK(failure("a 1 2\0\n"s, format::prometheus_text) ==
          "1:5: invalid timestamp (integer milliseconds expected)");
    CHECK(failure("a\0 1\n# EOF\n"s, format::openmetrics) ==
          "1:2: invalid character in metric name");
}

TEST_CASE("parser: invalid UTF-8 is rejected with its position") {
    CHECK(failure("a{b=\"\xff\"} 1\n", format::prometheus_text) == "1:6: invalid UTF-8");
    CHECK(failure("a 1\n# HELP b \xc3\x28\n", format::prometheus_text) == "2:10: invalid UTF-8");
    CHECK(failure("a{b=\"\xc0\xaf\"} 1\n# EOF\n", format::openmetrics) == "1:6: invalid UTF-8");
    CHECK(failure("a{b=\"\xed\xa0\x80\"} 1\n", format::prometheus_text) == "1:6: invalid UTF-8");
    CHECK(failure("a{b=\"\xf4\x90\x80\x80\"} 1\n", format::prometheus_text) ==
          "1:6: invalid UTF-8");
    CHECK(failure("a{b=\"\xe2\x98\"} 1\n", format::prometheus_text) == "1:6: invalid UTF-8");
    // Valid multi-byte text of every length passes.
    CHECK(failure("a{b=\"\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\"} 1\n", format::prometheus_text) ==
          "parsed");
}

TEST_CASE("parser: check_exposition detects the format and reports line:col") {
    std::string diagnostic;
    CHECK(mgw::exposition::check_exposition("a 1\n", std::nullopt, diagnostic) == 0);
    CHECK(diagnostic.empty());
    // Detected as OpenMetrics from the trailing # EOF, where the trailing comma is invalid.
    CHECK(mgw::exposition::check_exposition("a{b=\"1\",} 1\n# EOF\n", std::nullopt, diagnostic) ==
          1);
    CHECK(diagnostic == "1:9: trailing comma in label set");
    CHECK(mgw::exposition::check_exposition("a{b=\"1\",} 1\n", std::nullopt, diagnostic) == 0);
    CHECK(mgw::exposition::check_exposition("a 1\n", format::openmetrics, diagnostic) == 1);
    CHECK(diagnostic == "2:1: missing # EOF at the end");
}

TEST_CASE("parser: format selection helpers") {
    using mgw::exposition::detect_format;
    using mgw::exposition::format_from_content_type;
    CHECK(format_from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8") ==
          format::openmetrics);
    CHECK(format_from_content_type(" Application/OpenMetrics-Text ") == format::openmetrics);
    CHECK(format_from_content_type("text/plain; version=0.0.4") == format::prometheus_text);
    CHECK(format_from_content_type("") == format::prometheus_text);
    CHECK(format_from_content_type("text/plain; x=application/openmetrics-text") ==
          format::prometheus_text);
    CHECK(detect_format("a 1\n# EOF\n") == format::openmetrics);
    CHECK(detect_format("a 1\n# EOF") == format::openmetrics);
    CHECK(detect_format("a 1\n# EOF\n\n\n") == format::openmetrics);
    CHECK(detect_format("# EOF\na 1\n") == format::prometheus_text);
    CHECK(detect_format("") == format::prometheus_text);
    CHECK(detect_format("a 1\n# EOF x\n") == format::prometheus_text);
}

TEST_CASE("parser: a failed parse leaves the output reusable") {
    parsed_exposition out;
    CHECK_FALSE(parse("a 1\nb{\n", format::prometheus_text, out));
    REQUIRE(parse("c 3\n", format::prometheus_text, out));
    REQUIRE(out.families.size() == 1);
    CHECK(out.families[0].name == "c");
    CHECK(out.samples.size() == 1);
}

TEST_CASE("exposition errors are error codes of the category mgw.exposition") {
    const auto& category = mgw::exposition::error_category();
    CHECK(std::string_view(category.name()) == "mgw.exposition");
    CHECK(category.message(static_cast<int>(errc::invalid_utf8)) == "the body is not valid UTF-8");
    CHECK(category.message(static_cast<int>(errc::syntax_error)) ==
          "a line does not follow the format's grammar");
    CHECK(category.message(static_cast<int>(errc::rule_violation)) ==
          "the lines break a rule of the format");
    CHECK(category.message(static_cast<int>(errc::limit_exceeded)) ==
          "the body exceeds a parse limit");
    CHECK(category.message(static_cast<int>(errc::missing_eof)) ==
          "the OpenMetrics body does not end with # EOF");
    CHECK(category.message(0) == "unknown exposition error");
    const boost::system::error_code code = errc::rule_violation;  // an error_code enum
    CHECK(&code.category() == &category);

    // Each refusal carries the kind of fault beside its position and reason, in both formats.
    for (const format fmt : {format::prometheus_text, format::openmetrics}) {
        const std::string eof = fmt == format::openmetrics ? "# EOF\n" : "";
        INFO(static_cast<int>(fmt));
        CHECK(failure_code("a 1\n" + eof, fmt) == boost::system::error_code());
        CHECK(failure_code("a \xff\n" + eof, fmt) == errc::invalid_utf8);
        CHECK(failure_code("a{b=\"c} 1\n" + eof, fmt) == errc::syntax_error);
        CHECK(failure_code("a 1x\n" + eof, fmt) == errc::syntax_error);
        CHECK(failure_code("a{b=\"1\",b=\"2\"} 1\n" + eof, fmt) == errc::rule_violation);
        CHECK(failure_code("# TYPE a gauge\n# TYPE a gauge\na 1\n" + eof, fmt) ==
              errc::rule_violation);
        CHECK(failure_code("a 1\nb 1\na 2\n" + eof, fmt) == errc::rule_violation);
        parse_limits limits;
        limits.max_samples = 1;
        CHECK(failure_code("a 1\nb 2\n" + eof, fmt, limits) == errc::limit_exceeded);
        limits = {};
        limits.max_labels_per_sample = 1;
        CHECK(failure_code("a{x=\"1\",y=\"2\"} 1\n" + eof, fmt, limits) == errc::limit_exceeded);
        limits = {};
        limits.max_label_value_bytes = 1;
        CHECK(failure_code("a{x=\"12\"} 1\n" + eof, fmt, limits) == errc::limit_exceeded);
        limits = {};
        limits.max_line_bytes = 4;
        CHECK(failure_code("abcdef 1\n" + eof, fmt, limits) == errc::limit_exceeded);
    }
    CHECK(failure_code("# TYPE a counter\na_total -1\n# EOF\n", format::openmetrics) ==
          errc::rule_violation);
    CHECK(failure_code("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n# EOF\n", format::openmetrics) ==
          errc::rule_violation);
    CHECK(failure_code("# TYPE a gauge\na 1\n", format::openmetrics) == errc::missing_eof);
    CHECK(failure_code("", format::openmetrics) == errc::missing_eof);
    CHECK(failure_code("a 1\n# EOF\nb 1\n", format::openmetrics) == errc::syntax_error);

    // The lenient reader refuses with the same codes what it cannot repair.
    parsed_exposition out;
    mgw::exposition::leniency_report report;
    const parse_result lenient =
        mgw::exposition::read_lenient("a{b=\"c} 1\n", format::prometheus_text, out, report);
    REQUIRE_FALSE(lenient);
    CHECK(lenient.error().code == errc::syntax_error);

    // The error prints as its message, and value() on a refusal throws with it.
    std::ostringstream printed;
    printed << lenient.error();
    CHECK(printed.str() == "1:5: unterminated label value");
    CHECK_THROWS_AS(lenient.value(), std::invalid_argument);
    CHECK_THROWS_WITH(lenient.value(), "1:5: unterminated label value");
}
