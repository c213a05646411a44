#include <catch2/catch.hpp>

#include <mgw/exposition/writer.hpp>

#include "writer_test_support.hpp"

using namespace mgw::exposition;
using mgw::exposition::test::exposition_builder;

namespace {

std::string write(const parsed_exposition& exp, format output, bool utf8_names = true) {
    std::string out;
    write_exposition(out, exp, writer_options{output, utf8_names});
    return out;
}

exposition_builder text_counter_and_friends() {
    exposition_builder b(format::prometheus_text);
    b.fam("http_requests_total", metric_type::counter)
        .help(R"(The "total" requests\\n\nnext)")
        .smp("http_requests_total", {{"method", "post"}, {"code", "200"}}, "1027", "1395066363000")
        .smp("http_requests_total", {{"path", R"(C:\\dir \"x\"\n)"}}, "3", "1500");
    b.fam("requests", metric_type::counter).smp("requests", {}, "5");
    b.fam("temperature", metric_type::gauge)
        .smp("temperature", {}, "0x1p3")
        .smp("temperature", {{"k", "inf"}}, "inf")
        .smp("temperature", {{"k", "ninf"}}, "-infinity")
        .smp("temperature", {{"k", "nan"}}, "nan");
    b.fam("rpc", metric_type::summary)
        .smp("rpc", {{"quantile", "0.5"}}, "4.5")
        .smp("rpc_sum", {}, "9")
        .smp("rpc_count", {}, "2");
    b.fam("lat", metric_type::histogram)
        .smp("lat_bucket", {{"le", "0.1"}}, "1")
        .smp("lat_bucket", {{"le", "+Inf"}}, "2")
        .smp("lat_sum", {}, "0.3")
        .smp("lat_count", {}, "2");
    b.fam("loose", metric_type::unknown, false).smp("loose", {}, "-7", "-5");
    return b;
}

exposition_builder openmetrics_all_types() {
    exposition_builder b(format::openmetrics);
    b.fam("a", metric_type::counter)
        .help(R"(A \"quoted\" \z help)")
        .smp("a_total", {{"x", "1"}}, "3", "1.5")
        .exemplar({{"trace_id", "abc"}}, "1", "1.2")
        .smp("a_created", {{"x", "1"}}, "1.7e9");
    b.fam("g_seconds", metric_type::gauge).unit("seconds").smp("g_seconds", {}, "2.5");
    b.fam("i", metric_type::info).smp("i_info", {{"v", "1.2"}}, "1");
    b.fam("s", metric_type::stateset).smp("s", {{"s", "a"}}, "1").smp("s", {{"s", "b"}}, "0");
    b.fam("gh", metric_type::gaugehistogram)
        .smp("gh_bucket", {{"le", "1"}}, "2")
        .exemplar({}, "0.5")
        .smp("gh_bucket", {{"le", "+Inf"}}, "3")
        .smp("gh_gcount", {}, "3")
        .smp("gh_gsum", {}, "4.5");
    b.fam("h", metric_type::histogram)
        .smp("h_bucket", {{"le", "+Inf"}}, "1")
        .smp("h_count", {}, "1")
        .smp("h_sum", {}, "2")
        .smp("h_created", {}, "1e9");
    b.fam("u", metric_type::unknown).smp("u", {{"odd", R"(a\zb)"}}, "1");
    return b;
}

}  // namespace

TEST_CASE("0.0.4 re-emitted as 0.0.4 keeps the text, normalising only values") {
    const auto b = text_counter_and_friends();
    CHECK(write(b.get(), format::prometheus_text) ==
          R"(# HELP http_requests_total The "total" requests\\n\nnext
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{path="C:\\dir \"x\"\n"} 3 1500
# TYPE requests counter
requests 5
# TYPE temperature gauge
temperature 8
temperature{k="inf"} +Inf
temperature{k="ninf"} -Inf
temperature{k="nan"} NaN
# TYPE rpc summary
rpc{quantile="0.5"} 4.5
rpc_sum 9
rpc_count 2
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 2
lat_sum 0.3
lat_count 2
# TYPE loose untyped
loose -7 -5
)");
}

TEST_CASE("0.0.4 written as OpenMetrics follows expfmt's OpenMetrics encoder") {
    const auto b = text_counter_and_friends();
    CHECK(write(b.get(), format::openmetrics) ==
          R"(# HELP http_requests The \"total\" requests\\n\nnext
# TYPE http_requests counter
http_requests_total{method="post",code="200"} 1027 1395066363
http_requests_total{path="C:\\dir \"x\"\n"} 3 1.5
# TYPE requests counter
requests_total 5
# TYPE temperature gauge
temperature 8
temperature{k="inf"} +Inf
temperature{k="ninf"} -Inf
temperature{k="nan"} NaN
# TYPE rpc summary
rpc{quantile="0.5"} 4.5
rpc_sum 9
rpc_count 2
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 2
lat_sum 0.3
lat_count 2
# TYPE loose unknown
loose -7 -0.005
# EOF
)");
}

TEST_CASE("OpenMetrics re-emitted as OpenMetrics keeps units, exemplars and EOF") {
    const auto b = openmetrics_all_types();
    CHECK(write(b.get(), format::openmetrics) ==
          R"(# HELP a A \"quoted\" \z help
# TYPE a counter
a_total{x="1"} 3 1.5 # {trace_id="abc"} 1 1.2
a_created{x="1"} 1.7e9
# TYPE g_seconds gauge
# UNIT g_seconds seconds
g_seconds 2.5
# TYPE i info
i_info{v="1.2"} 1
# TYPE s stateset
s{s="a"} 1
s{s="b"} 0
# TYPE gh gaugehistogram
gh_bucket{le="1"} 2 # {} 0.5
gh_bucket{le="+Inf"} 3
gh_gcount 3
gh_gsum 4.5
# TYPE h histogram
h_bucket{le="+Inf"} 1
h_count 1
h_sum 2
h_created 1e9
# TYPE u unknown
u{odd="a\\zb"} 1
# EOF
)");
}

TEST_CASE("OpenMetrics written as 0.0.4 follows client_python's generate_latest") {
    const auto b = openmetrics_all_types();
    CHECK(write(b.get(), format::prometheus_text) ==
          R"(# HELP a_total A "quoted" \\z help
# TYPE a_total counter
a_total{x="1"} 3 1500
# HELP a_created A "quoted" \\z help
# TYPE a_created gauge
a_created{x="1"} 1.7e9
# TYPE g_seconds gauge
g_seconds 2.5
# TYPE i_info gauge
i_info{v="1.2"} 1
# TYPE s gauge
s{s="a"} 1
s{s="b"} 0
# TYPE gh histogram
gh_bucket{le="1"} 2
gh_bucket{le="+Inf"} 3
# TYPE gh_gcount gauge
gh_gcount 3
# TYPE gh_gsum gauge
gh_gsum 4.5
# TYPE h histogram
h_bucket{le="+Inf"} 1
h_count 1
h_sum 2
# TYPE h_created gauge
h_created 1e9
# TYPE u untyped
u{odd="a\\zb"} 1
)");
}

TEST_CASE("UTF-8 names are quoted when allowed and underscore-escaped otherwise") {
    exposition_builder b(format::prometheus_text);
    b.fam("my.metric", metric_type::gauge)
        .help("dotted")
        .smp("my.metric", {{"service.name", "x"}, {"a", "b"}}, "1")
        .smp("my.metric", {}, "2");
    b.fam("temp\xc3\xa9rature", metric_type::gauge).smp("temp\xc3\xa9rature", {{"1st", "v"}}, "3");
    CHECK(write(b.get(), format::prometheus_text, true) ==
          "# HELP \"my.metric\" dotted\n"
          "# TYPE \"my.metric\" gauge\n"
          "{\"my.metric\",\"service.name\"=\"x\",a=\"b\"} 1\n"
          "{\"my.metric\"} 2\n"
          "# TYPE \"temp\xc3\xa9rature\" gauge\n"
          "{\"temp\xc3\xa9rature\",\"1st\"=\"v\"} 3\n");
    CHECK(write(b.get(), format::openmetrics, false) ==
          "# HELP my_metric dotted\n"
          "# TYPE my_metric gauge\n"
          "my_metric{service_name=\"x\",a=\"b\"} 1\n"
          "my_metric 2\n"
          "# TYPE temp_rature gauge\n"
          "temp_rature{_st=\"v\"} 3\n"
          "# EOF\n");
}

TEST_CASE("timestamps convert between integer milliseconds and float seconds") {
    auto convert = [](std::string_view text, format in, format out) {
        std::string s;
        return append_timestamp(s, text, in, out) ? s : std::string("<invalid>");
    };
    const auto p = format::prometheus_text;
    const auto o = format::openmetrics;
    CHECK(convert("1500", p, o) == "1.5");
    CHECK(convert("5", p, o) == "0.005");
    CHECK(convert("-5", p, o) == "-0.005");
    CHECK(convert("0", p, o) == "0");
    CHECK(convert("000", p, o) == "0");
    CHECK(convert("1395066363000", p, o) == "1395066363");
    CHECK(convert("1395066363010", p, o) == "1395066363.01");
    CHECK(convert("1.5e3", p, o) == "1.5");
    CHECK(convert("x", p, o) == "<invalid>");
    CHECK(convert("1.5", o, p) == "1500");
    CHECK(convert("1520879607.789", o, p) == "1520879607789");
    CHECK(convert("1520879607.7891", o, p) == "1520879607789");
    CHECK(convert("0.0001", o, p) == "0");
    CHECK(convert("-0.0001", o, p) == "0");
    CHECK(convert(".5", o, p) == "500");
    CHECK(convert("0.05", o, p) == "50");
    CHECK(convert("-1.25", o, p) == "-1250");
    CHECK(convert("1e3", o, p) == "1000000");
    CHECK(convert("12", o, p) == "12000");
    CHECK(convert("9223372036854775.807", o, p) == "9223372036854775807");
    CHECK(convert("9223372036854775.808", o, p) == "<invalid>");
    CHECK(convert("12345678901234567890.1234567890", o, p) == "<invalid>");
    CHECK(convert("abc", o, p) == "<invalid>");
    CHECK(convert("1.5", o, o) == "1.5");
    CHECK(convert("1500", p, p) == "1500");
}

TEST_CASE("values are normalised to the spelling both formats accept") {
    auto value = [](std::string_view text, double v) {
        std::string s;
        append_value(s, text, v);
        return s;
    };
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(value("1e3", 1000) == "1e3");
    CHECK(value("-0.5", -0.5) == "-0.5");
    CHECK(value(".5", 0.5) == ".5");
    CHECK(value("0x1p3", 8) == "8");
    CHECK(value("1e", 1) == "1");
    CHECK(value("+Inf", inf) == "+Inf");
    CHECK(value("Infinity", inf) == "+Inf");
    CHECK(value("-inf", -inf) == "-Inf");
    CHECK(value("nan", std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("HELP and label values are re-escaped per format") {
    auto help = [](std::string_view raw, format in, format out) {
        std::string s;
        append_help_text(s, raw, in, out);
        return s;
    };
    const auto p = format::prometheus_text;
    const auto o = format::openmetrics;
    CHECK(help(R"(say "hi"\\ \n)", p, o) == R"(say \"hi\"\\ \n)");
    CHECK(help(R"(say \"hi\"\\ \n \z)", o, p) == R"(say "hi"\\ \n \\z)");
    CHECK(help(R"(keep \"as is\" \z)", o, o) == R"(keep \"as is\" \z)");
    CHECK(help(R"(keep "as is")", p, p) == R"(keep "as is")");

    auto value = [](std::string_view raw) {
        std::string s;
        append_label_value(s, raw);
        return s;
    };
    CHECK(value(R"(a\\b\"c\nd)") == R"(a\\b\"c\nd)");
    CHECK(value(R"(a\zb\)") == R"(a\\zb\\)");
}

TEST_CASE("legacy name rules") {
    CHECK(is_legacy_metric_name("a:b_c1"));
    CHECK_FALSE(is_legacy_metric_name("1a"));
    CHECK_FALSE(is_legacy_metric_name("a.b"));
    CHECK_FALSE(is_legacy_metric_name(""));
    CHECK(is_legacy_label_name("_a1"));
    CHECK_FALSE(is_legacy_label_name("a:b"));
    std::string out;
    append_escaped_name(out, "a:b.c", false, false);
    append_escaped_name(out, " ", true, false);
    append_escaped_name(out, "a.b", true, true);
    CHECK(out == R"(a_b_c_"a.b")");
}

TEST_CASE("canonical family names and type keywords") {
    family f;
    f.name = "a_total";
    f.type = metric_type::counter;
    CHECK(canonical_family_name(f, format::prometheus_text) == "a");
    CHECK(canonical_family_name(f, format::openmetrics) == "a_total");
    f.name = "_total";
    CHECK(canonical_family_name(f, format::prometheus_text) == "_total");
    f.name = "b_total";
    f.type = metric_type::gauge;
    CHECK(canonical_family_name(f, format::prometheus_text) == "b_total");
    CHECK(type_keyword(metric_type::unknown, format::prometheus_text) == "untyped");
    CHECK(type_keyword(metric_type::unknown, format::openmetrics) == "unknown");
    CHECK(type_keyword(metric_type::gaugehistogram, format::prometheus_text) == "histogram");
    CHECK(type_keyword(metric_type::info, format::prometheus_text) == "gauge");
    CHECK(type_keyword(metric_type::stateset, format::openmetrics) == "stateset");
}
