#include <string>

#include <catch2/catch.hpp>

#include <mgw/exposition/content_type.hpp>

using namespace mgw::exposition;

namespace {

bool is_text(const negotiated_format& n) {
    return n.output == format::prometheus_text && n.content_type == prometheus_text_content_type;
}

bool is_openmetrics_1(const negotiated_format& n) {
    return n.output == format::openmetrics && n.content_type == openmetrics_content_type;
}

}  // namespace

TEST_CASE("no or empty Accept falls back to 0.0.4") {
    CHECK(is_text(negotiate("")));
    CHECK(is_text(negotiate(" , ,")));
    CHECK_FALSE(negotiate("").utf8_names);
    CHECK(content_type_for(format::prometheus_text) == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(content_type_for(format::openmetrics) ==
          "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST_CASE("Prometheus scrapers' Accept headers") {
    // Prometheus 3.x default scrape_protocols.
    const auto v3 = negotiate(
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
        "application/openmetrics-text;version=0.0.1;q=0.4,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
        "text/plain;version=0.0.4;q=0.2,*/*;q=0.1");
    CHECK(is_openmetrics_1(v3));
    CHECK(v3.utf8_names);
    // Prometheus 2.x.
    const auto v2 = negotiate(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
        "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
    CHECK(is_openmetrics_1(v2));
    CHECK_FALSE(v2.utf8_names);
    // Prometheus configured for 0.0.4 only.
    CHECK(is_text(negotiate("text/plain;version=0.0.4;q=1,*/*;q=0.1")));
}

TEST_CASE("Promfetcher's upstream Accept headers negotiate what Promfetcher asked for") {
    const auto v1 = negotiate(promfetcher_v1_accept);
    CHECK(v1.output == format::openmetrics);
    CHECK(v1.content_type == "application/openmetrics-text; version=0.0.1; charset=utf-8");
    CHECK(is_text(negotiate(promfetcher_v2_accept)));
}

TEST_CASE("q-weights decide, the earlier range wins a tie") {
    CHECK(is_text(negotiate("text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.8")));
    CHECK(is_openmetrics_1(negotiate("text/plain;q=0.009, application/openmetrics-text;q=0.01")));
    CHECK(is_text(negotiate("text/plain, application/openmetrics-text")));
    CHECK(is_openmetrics_1(negotiate("application/openmetrics-text, text/plain")));
    CHECK(is_openmetrics_1(negotiate("application/openmetrics-text;q=1.000,text/plain;q=1")));
    CHECK(is_text(negotiate("application/openmetrics-text;q=0")));
}

TEST_CASE("wildcards and parameters") {
    CHECK(is_text(negotiate("*/*")));
    CHECK(is_text(negotiate("text/*")));
    CHECK(is_openmetrics_1(negotiate("application/*")));
    CHECK(is_openmetrics_1(negotiate("Application/OpenMetrics-Text; Version=1.0.0")));
    CHECK(is_openmetrics_1(negotiate("application/openmetrics-text;version=\"1.0.0\"")));
    CHECK(is_openmetrics_1(negotiate("application/openmetrics-text; charset=UTF-8")));
    // Versions we cannot produce are skipped, not approximated.
    CHECK(is_text(negotiate("application/openmetrics-text;version=2.0.0")));
    const auto text1 =
        negotiate("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.9,text/plain;q=0.2");
    CHECK(is_text(text1));
    CHECK_FALSE(text1.utf8_names);
    CHECK(is_text(negotiate("application/json, application/vnd.google.protobuf")));
}

TEST_CASE("malformed or hostile Accept headers are not interpreted") {
    CHECK(is_text(negotiate("application/openmetrics-text\r\nX-Evil: 1")));
    CHECK(is_text(negotiate(std::string("application/openmetrics-text\0", 29))));
    CHECK(is_text(negotiate("application/openmetrics-text;charset=latin1")));
    CHECK(is_text(negotiate("application/openmetrics-text;q=2")));
    CHECK(is_text(negotiate("application/openmetrics-text;q=0.5x")));
    CHECK(is_text(negotiate("application/openmetrics-text;q=0.1234")));
    CHECK(is_text(negotiate("application/openmetrics-text; version=1.0.0; flag")));
    CHECK(is_text(negotiate("application/openmetrics-text;version=\"1.0.0")));
    CHECK(is_text(negotiate("application/openmetrics-text;version=\"1\\\".0.0\"")));
    CHECK(is_text(negotiate("appl ication/openmetrics-text")));
    CHECK(is_text(negotiate("application/openmetrics-text/x")));
    CHECK(is_text(negotiate("*/openmetrics-text")));
    // A broken range does not spoil the valid ones next to it.
    CHECK(is_openmetrics_1(negotiate("garbage;;, application/openmetrics-text;q=0.3")));

    std::string long_header = "application/openmetrics-text;q=0.5,";
    long_header.append(max_accept_bytes, ' ');
    CHECK(is_text(negotiate(long_header)));
    std::string many_ranges;
    for (std::size_t i = 0; i <= max_accept_ranges; ++i) {
        many_ranges += "application/openmetrics-text,";
    }
    CHECK(is_text(negotiate(many_ranges)));
}
