// The lenient source reader: what it joins, keeps, repairs and drops, with the notes it makes,
// and the contract behind it: whatever it accepts is written as an exposition the strict parser
// (`metrics-gateway check`) accepts, in both formats. Strictly valid OpenMetrics is read
// unchanged.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "mgw/exposition/check.hpp"
#include "mgw/exposition/merger.hpp"
#include "mgw/exposition/parser.hpp"
#include "mgw/exposition/writer.hpp"

using namespace mgw::exposition;

namespace {

struct lenient_result {
    parsed_exposition parsed;
    leniency_report report;
};

// Reads leniently (REQUIREs success) and checks the contract: both formats, both name
// escapings, pass the strict parser.
lenient_result read(std::string_view input, format fmt = format::prometheus_text,
                    label_storage storage = label_storage::materialized) {
    lenient_result r;
    REQUIRE(read_lenient(input, fmt, r.parsed, r.report, {}, storage));
    CHECK(r.report.unrepairable() == 0);
    for (const format output : {format::prometheus_text, format::openmetrics}) {
        for (const bool utf8 : {false, true}) {
            std::string written;
            write_exposition(written, r.parsed, {output, utf8});
            parsed_exposition reparsed;
            INFO(written);
            CHECK(parse(written, output, reparsed));
        }
    }
    return r;
}

std::string written(const parsed_exposition& parsed, format output = format::prometheus_text) {
    std::string out;
    write_exposition(out, parsed, {output, true});
    return out;
}

std::vector<std::string> notes(const lenient_result& r, std::string_view input) {
    std::vector<std::string> out;
    for (const leniency_note& note : r.report.notes()) {
        out.push_back(leniency_report::describe(note, input));
    }
    return out;
}

std::string read_corpus(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// What Micrometer's prometheus-rsocket-proxy README serves for several registries:
// `topLevelRegistry.scrape() + "\n" + comp1Registry.scrape()`. Each registry writes its own
// HELP/TYPE, the timer's `_max` gauge with an empty HELP.
const std::string micrometer_two_registries =
    "# HELP jvm_threads_live_threads The current number of live threads including both daemon "
    "and non-daemon threads\n"
    "# TYPE jvm_threads_live_threads gauge\n"
    "jvm_threads_live_threads 21.0\n"
    "# HELP http_server_requests_seconds_max  \n"
    "# TYPE http_server_requests_seconds_max gauge\n"
    "http_server_requests_seconds_max{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
    "uri=\"/hello\",} 0.012\n"
    "# HELP http_server_requests_seconds  \n"
    "# TYPE http_server_requests_seconds summary\n"
    "http_server_requests_seconds_count{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
    "uri=\"/hello\",} 3.0\n"
    "http_server_requests_seconds_sum{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
    "uri=\"/hello\",} 0.03\n"
    "\n"
    "# HELP http_server_requests_seconds_max  \n"
    "# TYPE http_server_requests_seconds_max gauge\n"
    "http_server_requests_seconds_max{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
    "uri=\"/comp1\",} 0.5\n"
    "# HELP jvm_threads_live_threads The current number of live threads including both daemon "
    "and non-daemon threads\n"
    "# TYPE jvm_threads_live_threads gauge\n"
    "jvm_threads_live_threads 21.0\n"
    "# HELP comp1_jobs_total  \n"
    "# TYPE comp1_jobs_total counter\n"
    "comp1_jobs_total 4.0\n";

}  // namespace

TEST_CASE("lenient: several registries' expositions concatenated are joined family by family") {
    parsed_exposition strict;
    REQUIRE_FALSE(parse(micrometer_two_registries, format::prometheus_text, strict));

    const auto r = read(micrometer_two_registries);
    CHECK(written(r.parsed) ==
          "# HELP jvm_threads_live_threads The current number of live threads including both "
          "daemon and non-daemon threads\n"
          "# TYPE jvm_threads_live_threads gauge\n"
          "jvm_threads_live_threads 21.0\n"
          "# HELP http_server_requests_seconds_max  \n"
          "# TYPE http_server_requests_seconds_max gauge\n"
          "http_server_requests_seconds_max{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
          "uri=\"/hello\"} 0.012\n"
          "http_server_requests_seconds_max{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
          "uri=\"/comp1\"} 0.5\n"
          "# HELP http_server_requests_seconds  \n"
          "# TYPE http_server_requests_seconds summary\n"
          "http_server_requests_seconds_count{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
          "uri=\"/hello\"} 3.0\n"
          "http_server_requests_seconds_sum{method=\"GET\",outcome=\"SUCCESS\",status=\"200\","
          "uri=\"/hello\"} 0.03\n"
          "# HELP comp1_jobs_total  \n"
          "# TYPE comp1_jobs_total counter\n"
          "comp1_jobs_total 4.0\n");
    CHECK(r.report.count(leniency_action::joined) == 2);
    CHECK(r.report.count(leniency_action::dropped_sample) == 1);  // the second live-threads
    CHECK(r.report.samples_dropped() == 1);
    CHECK(notes(r, micrometer_two_registries) ==
          std::vector<std::string>{
              "12:1: joined: family repeated further down: joined to its first block",
              "15:1: joined: family repeated further down: joined to its first block",
              "17:1: dropped_sample: metric repeated in a later block of its family: the first "
              "is kept"});
}

TEST_CASE("lenient: a repeated family with another TYPE keeps the first, the rest is kept") {
    const std::string input =
        "# TYPE a gauge\n"
        "a 1\n"
        "# TYPE b gauge\n"
        "b 2\n"
        "# HELP a other\n"
        "# TYPE a counter\n"
        "a{x=\"1\"} 3\n"
        "a{x=\"2\"} 4\n"
        "c 5\n";
    const auto r = read(input);
    CHECK(written(r.parsed) == "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# TYPE c untyped\nc 5\n");
    CHECK(r.report.count(leniency_action::dropped_family) == 1);
    CHECK(r.report.samples_dropped() == 2);
    CHECK(notes(r, input)[0] ==
          "6:1: dropped_family: repeated family with another TYPE: the first is kept");
}

TEST_CASE("lenient: a family whose sample names an earlier family has is dropped") {
    const std::string input =
        "# TYPE h_count gauge\n"
        "h_count 1\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"+Inf\"} 1\n"
        "h_count 1\n"
        "h_sum 2\n"
        "# TYPE g histogram\n"
        "g_bucket{le=\"+Inf\"} 1\n"
        "# TYPE g_sum gauge\n"
        "g_sum 7\n";
    const auto r = read(input);
    CHECK(written(r.parsed) ==
          "# TYPE h_count gauge\nh_count 1\n# TYPE g histogram\ng_bucket{le=\"+Inf\"} 1\n");
    CHECK(r.report.count(leniency_action::dropped_family) == 2);
}

TEST_CASE("lenient: a histogram without +Inf gets one from its _count when that is sound") {
    const std::string input =
        "# TYPE h histogram\n"
        "h_bucket{path=\"/a\",le=\"0.5\"} 1\n"
        "h_bucket{path=\"/a\",le=\"1\"} 3\n"
        "h_count{path=\"/a\"} 4\n"
        "h_sum{path=\"/a\"} 2.5\n"
        "h_bucket{path=\"/b\",le=\"1\"} 3\n"
        "h_count{path=\"/b\"} 2\n"
        "h_sum{path=\"/b\"} 1\n"
        "h_bucket{path=\"/c\",le=\"1\"} 3\n"
        "h_sum{path=\"/c\"} 1\n"
        "# TYPE only histogram\n"
        "only_count 7\n"
        "only_sum 1.5\n";
    for (const label_storage storage :
         {label_storage::materialized, label_storage::raw_when_canonical}) {
        const auto r = read(input, format::prometheus_text, storage);
        // /b's count is below a bucket, /c has no count: no +Inf can be made, both go.
        CHECK(written(r.parsed) ==
              "# TYPE h histogram\n"
              "h_bucket{path=\"/a\",le=\"0.5\"} 1\n"
              "h_bucket{path=\"/a\",le=\"1\"} 3\n"
              "h_bucket{path=\"/a\",le=\"+Inf\"} 4\n"
              "h_count{path=\"/a\"} 4\n"
              "h_sum{path=\"/a\"} 2.5\n"
              "# TYPE only histogram\n"
              "only_bucket{le=\"+Inf\"} 7\n"
              "only_count 7\n"
              "only_sum 1.5\n");
        CHECK(r.report.count(leniency_action::repaired) == 2);
        CHECK(r.report.count(leniency_action::dropped_metric) == 2);
        CHECK(r.report.samples_dropped() == 5);
    }
}

TEST_CASE("lenient: a histogram of one sample is still checked as a whole point") {
    // A lone bucket without +Inf or _count (found by fuzz_lenient_reader when a shortcut for
    // one-sample families skipped the histogram point checks).
    const std::string input =
        "# TYPE h histogram\nh_bucket{le=\"8.999999999999998\"} 2.26e+10\n"
        "# TYPE k histogram\nk_bucket{le=\"+Inf\"} 3\n"
        "# TYPE g gauge\ng 1\n";
    for (const label_storage storage :
         {label_storage::materialized, label_storage::raw_when_canonical}) {
        const auto r = read(input, format::prometheus_text, storage);
        CHECK(written(r.parsed) ==
              "# TYPE h histogram\n"  // its only metric dropped
              "# TYPE k histogram\nk_bucket{le=\"+Inf\"} 3\n"
              "# TYPE g gauge\ng 1\n");
        CHECK(r.report.count(leniency_action::dropped_metric) == 1);
        CHECK(r.report.samples_dropped() == 1);
    }
}

TEST_CASE("lenient: buckets are ordered, infinite le respelled, bad histograms dropped") {
    const std::string input =
        "# TYPE h histogram\n"
        "h_bucket{le=\"Inf\"} 5\n"
        "h_bucket{le=\"1\"} 2\n"
        "h_bucket{le=\"1.0\"} 2\n"
        "h_count 5\n"
        "h_sum 3\n"
        "# TYPE not_cumulative histogram\n"
        "not_cumulative_bucket{le=\"1\"} 3\n"
        "not_cumulative_bucket{le=\"+Inf\"} 2\n"
        "# TYPE bad_le histogram\n"
        "bad_le_bucket{le=\"one\"} 3\n"
        "bad_le_bucket{le=\"+Inf\"} 3\n"
        "# TYPE half_count histogram\n"
        "half_count_bucket{le=\"+Inf\"} 1.5\n"
        "half_count_count 1.5\n"
        "half_count_sum 1\n"
        "# TYPE mismatch histogram\n"
        "mismatch_bucket{le=\"+Inf\"} 2\n"
        "mismatch_count 3\n"
        "mismatch_sum 1\n"
        "# TYPE negative histogram\n"
        "negative_bucket{le=\"-1\"} 1\n"
        "negative_bucket{le=\"+Inf\"} 2\n"
        "negative_count 2\n"
        "negative_sum 4\n";
    const auto r = read(input);
    // le="1" and le="1.0" are one bucket to OpenMetrics: the first is kept.
    CHECK(written(r.parsed) ==
          "# TYPE h histogram\n"
          "h_bucket{le=\"1\"} 2\n"
          "h_bucket{le=\"+Inf\"} 5\n"
          "h_count 5\n"
          "h_sum 3\n"
          "# TYPE not_cumulative histogram\n"
          "# TYPE bad_le histogram\n"
          "# TYPE half_count histogram\n"
          "# TYPE mismatch histogram\n"
          "# TYPE negative histogram\n"
          "negative_bucket{le=\"-1\"} 1\n"
          "negative_bucket{le=\"+Inf\"} 2\n");
    CHECK(r.report.count(leniency_action::dropped_metric) == 4);
}

TEST_CASE("lenient: counters, summaries, and samples a TYPE does not have") {
    const std::string input =
        "# TYPE c counter\n"
        "c{a=\"nan\"} NaN\n"
        "c{a=\"neg\"} -1\n"
        "c{a=\"ok\"} 2\n"
        "c{a=\"inf\"} +Inf\n"
        "# TYPE s summary\n"
        "s{quantile=\"0.5\"} 1\n"
        "s{quantile=\"1.5\"} 2\n"
        "s{quantile=\"0.9\"} -2\n"
        "s{quantile=\"0.99\"} NaN\n"
        "s_count 3\n"
        "s_sum 4\n"
        "# TYPE t summary\n"
        "t_count 2.5\n"
        "t_sum 1\n"
        "# TYPE h histogram\n"
        "h 1\n"
        "h_bucket{le=\"+Inf\"} 0\n"
        "# TYPE g gauge\n"
        "g{a=\"1\"} NaN\n"
        "g{a=\"2\"} -5\n";
    const auto r = read(input);
    CHECK(written(r.parsed) ==
          "# TYPE c counter\n"
          "c{a=\"ok\"} 2\n"
          "c{a=\"inf\"} +Inf\n"
          "# TYPE s summary\n"
          "s{quantile=\"0.5\"} 1\n"
          "s{quantile=\"0.99\"} NaN\n"
          "s_count 3\n"
          "s_sum 4\n"
          "# TYPE t summary\n"
          "# TYPE h histogram\n"
          "h_bucket{le=\"+Inf\"} 0\n"
          "# TYPE g gauge\n"
          "g{a=\"1\"} NaN\n"
          "g{a=\"2\"} -5\n");
    CHECK(r.report.samples_dropped() == 7);
}

TEST_CASE("lenient: a metric spread over its family is brought together, timestamps kept sane") {
    const std::string input =
        "# TYPE h histogram\n"
        "h_bucket{a=\"1\",le=\"+Inf\"} 1\n"
        "h_bucket{a=\"2\",le=\"+Inf\"} 2\n"
        "h_count{a=\"1\"} 1\n"
        "h_count{a=\"2\"} 2\n"
        "h_sum{a=\"1\"} 1\n"
        "h_sum{a=\"2\"} 2\n"
        "# TYPE g gauge\n"
        "g{a=\"1\"} 1 2000\n"
        "g{a=\"2\"} 1\n"
        "g{a=\"1\"} 2 1000\n"
        "g{a=\"1\"} 3\n"
        "g{a=\"1\"} 4 3000\n";
    const auto r = read(input);
    CHECK(written(r.parsed) ==
          "# TYPE h histogram\n"
          "h_bucket{a=\"1\",le=\"+Inf\"} 1\n"
          "h_count{a=\"1\"} 1\n"
          "h_sum{a=\"1\"} 1\n"
          "h_bucket{a=\"2\",le=\"+Inf\"} 2\n"
          "h_count{a=\"2\"} 2\n"
          "h_sum{a=\"2\"} 2\n"
          "# TYPE g gauge\n"
          "g{a=\"1\"} 1 2000\n"
          "g{a=\"1\"} 4 3000\n"
          "g{a=\"2\"} 1\n");
    CHECK(r.report.count(leniency_action::dropped_sample) == 2);
}

TEST_CASE("lenient: samples without metadata are one family per name, a late TYPE types them") {
    const std::string input =
        "rpc{quantile=\"0.5\"} 1\n"
        "rpc_count 3\n"
        "other 1\n"
        "rpc{quantile=\"0.9\"} 2\n"
        "x 1\n"
        "# TYPE x counter\n"
        "x{a=\"1\"} 2\n";
    const auto r = read(input);
    CHECK(written(r.parsed) ==
          "# TYPE rpc untyped\n"
          "rpc{quantile=\"0.5\"} 1\n"
          "rpc{quantile=\"0.9\"} 2\n"
          "# TYPE rpc_count untyped\n"
          "rpc_count 3\n"
          "# TYPE other untyped\n"
          "other 1\n"
          "# TYPE x counter\n"
          "x 1\n"
          "x{a=\"1\"} 2\n");
    CHECK(r.report.count(leniency_action::repaired) == 1);
    CHECK(r.report.count(leniency_action::joined) == 1);
}

TEST_CASE("lenient: repeated metadata keeps the first, label names that coincide once escaped") {
    const std::string input =
        "# HELP a first\n"
        "# HELP a second\n"
        "# TYPE a gauge\n"
        "# TYPE a gauge\n"
        "a{\"x.y\"=\"1\",x_y=\"2\"} 1\n"
        "a{\"x.y\"=\"3\"} 2\n";
    const auto r = read(input);
    CHECK(written(r.parsed) == "# HELP a first\n# TYPE a gauge\na{\"x.y\"=\"3\"} 2\n");
    CHECK(r.report.count(leniency_action::ignored) == 2);
    CHECK(r.report.count(leniency_action::dropped_sample) == 1);
}

TEST_CASE("lenient: OpenMetrics repeated families are joined, another TYPE dropped") {
    const std::string input =
        "# TYPE a counter\n"
        "# HELP a Things.\n"
        "a_total{x=\"1\"} 1\n"
        "a_created{x=\"1\"} 1700000000\n"
        "# TYPE b gauge\n"
        "b 1\n"
        "# TYPE a counter\n"
        "# HELP a Things again.\n"
        "a_total{x=\"2\"} 2\n"
        "a_total{x=\"1\"} 5\n"
        "# TYPE b counter\n"
        "b_total 1\n"
        "# EOF\n";
    const auto r = read(input, format::openmetrics);
    CHECK(written(r.parsed, format::openmetrics) ==
          "# HELP a Things.\n"
          "# TYPE a counter\n"
          "a_total{x=\"1\"} 1\n"
          "a_created{x=\"1\"} 1700000000\n"
          "a_total{x=\"2\"} 2\n"
          "# TYPE b gauge\n"
          "b 1\n"
          "# EOF\n");
    CHECK(r.report.count(leniency_action::joined) == 1);
    CHECK(r.report.count(leniency_action::dropped_family) == 1);
    CHECK(r.report.samples_dropped() == 2);
}

TEST_CASE("lenient: what is no exposition at all is still refused, with its position") {
    for (const auto& [input, fmt, message, code] :
         std::vector<std::tuple<std::string, format, std::string, errc>>{
             {"a{b=\"1\" 1\n", format::prometheus_text,
              "1:9: expected ',' or '}' after label value", errc::syntax_error},
             {"a 1 2 3\n", format::prometheus_text, "1:7: unexpected text after timestamp",
              errc::syntax_error},
             {"# TYPE a gauge\na 1\n", format::openmetrics, "3:1: missing # EOF at the end",
              errc::missing_eof},
             {"a \xff\n", format::prometheus_text, "1:3: invalid UTF-8", errc::invalid_utf8},
             {"# TYPE a summarry\n", format::prometheus_text, "1:10: invalid metric type",
              errc::syntax_error},
         }) {
        parsed_exposition out;
        leniency_report report;
        INFO(input);
        const parse_result refused = read_lenient(input, fmt, out, report);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message() == message);
        CHECK(refused.error().code == code);
    }
}

TEST_CASE("lenient: valid OpenMetrics from the conformance suite is read unchanged") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(MGW_CORPUS_DIR) / "openmetrics" / "parsers";
    std::size_t valid = 0;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (read_corpus(entry.path() / "test.json").find("\"shouldParse\": true") ==
            std::string::npos) {
            continue;
        }
        const std::string input = read_corpus(entry.path() / "metrics");
        INFO(entry.path().filename().string());
        parsed_exposition strict;
        REQUIRE(parse(input, format::openmetrics, strict));
        const auto r = read(input, format::openmetrics);
        CHECK(r.report.empty());
        CHECK(written(r.parsed, format::openmetrics) == written(strict, format::openmetrics));
        ++valid;
    }
    CHECK(valid == 44);
}

TEST_CASE("lenient: Prometheus' own fixtures are read and written validly") {
    for (const char* name : {"alltypes.237mfs.prom.txt", "alltypes.237mfs.nometa.prom.txt"}) {
        const std::string input =
            read_corpus(std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse" / name);
        INFO(name);
        const auto r = read(input);
        parsed_exposition strict;
        REQUIRE(parse(input, format::prometheus_text, strict));
        // Valid Go client output: nothing to drop (the no-metadata body only regroups names).
        CHECK(r.report.samples_dropped() == 0);
        CHECK(r.parsed.samples.size() == strict.samples.size());
    }
}

TEST_CASE("check --lenient says what the gateway would change, in input order") {
    std::vector<std::string> diagnostics;
    CHECK(check_exposition_lenient(micrometer_two_registries, std::nullopt, diagnostics) == 0);
    CHECK(diagnostics ==
          std::vector<std::string>{
              "12:1: joined: family repeated further down: joined to its first block",
              "15:1: joined: family repeated further down: joined to its first block",
              "17:1: dropped_sample: metric repeated in a later block of its family: the first "
              "is kept",
              "3 changes, 1 samples of the input left out"});
    CHECK(check_exposition_lenient("a 1\n", std::nullopt, diagnostics) == 0);
    CHECK(diagnostics.empty());
    CHECK(check_exposition_lenient("a{ 1\n", std::nullopt, diagnostics) == 1);
    CHECK(diagnostics == std::vector<std::string>{"1:4: invalid label name"});
    std::string strict;
    CHECK(check_exposition(micrometer_two_registries, std::nullopt, strict) == 1);
    CHECK(strict == "12:8: duplicate family: metadata for a family seen earlier");
}
