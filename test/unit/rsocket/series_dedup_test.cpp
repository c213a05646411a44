// Unit tests: a series exposed by two clients is kept once in /metrics/connected, from the
// first source; histograms and summaries go whole; labels in another order are the same series.
#include "series_dedup.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

using namespace mgw;
using mgw::rsocket::series_dedup;

namespace {

struct merge_run {
    std::vector<std::string> texts;
    std::vector<exposition::parsed_exposition> parsed;
    std::vector<std::size_t> dropped;

    std::string merged() {
        parsed.resize(texts.size());
        series_dedup dedup;
        dedup.reserve(1000);
        exposition::merger merger;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            REQUIRE(exposition::parse(texts[i], exposition::detect_format(texts[i]), parsed[i]));
            dropped.push_back(dedup.add(parsed[i]));
            merger.add_source(parsed[i]);
        }
        return merger.write_all({.output = exposition::format::prometheus_text});
    }
};

}  // namespace

TEST_CASE("the first source's series wins, the later one is dropped and counted") {
    merge_run run{.texts = {"# TYPE up gauge\nup{a=\"1\"} 1\nup{a=\"2\"} 2\n",
                            "# TYPE up gauge\nup{a=\"1\"} 10\nup{a=\"3\"} 30\n"},
                  .parsed = {},
                  .dropped = {}};
    const std::string out = run.merged();
    CHECK(out == "# TYPE up gauge\nup{a=\"1\"} 1\nup{a=\"2\"} 2\nup{a=\"3\"} 30\n");
    CHECK(run.dropped == std::vector<std::size_t>{0, 1});
}

TEST_CASE("labels in another order are the same series") {
    merge_run run{.texts = {"g{a=\"1\",b=\"2\"} 1\n", "g{b=\"2\",a=\"1\"} 2\n", "g{a=\"1\"} 3\n"},
                  .parsed = {},
                  .dropped = {}};
    const std::string out = run.merged();
    CHECK(out.find("g{a=\"1\",b=\"2\"} 1") != std::string::npos);
    CHECK(out.find(" 2\n") == std::string::npos);
    CHECK(out.find("g{a=\"1\"} 3") != std::string::npos);
    CHECK(run.dropped == std::vector<std::size_t>{0, 1, 0});
}

TEST_CASE("a histogram is one series: kept or dropped whole, never mixed") {
    const std::string first =
        "# TYPE rt histogram\nrt_bucket{le=\"1\"} 1\nrt_bucket{le=\"+Inf\"} 2\nrt_sum 3\n"
        "rt_count 2\n";
    // Other bucket bounds, same series: none of its samples may join the first one's.
    const std::string second =
        "# TYPE rt histogram\nrt_bucket{le=\"0.5\"} 7\nrt_bucket{le=\"+Inf\"} 9\nrt_sum 30\n"
        "rt_count 9\nrt_bucket{path=\"/x\",le=\"+Inf\"} 4\nrt_sum{path=\"/x\"} 1\n"
        "rt_count{path=\"/x\"} 4\n";
    merge_run run{.texts = {first, second}, .parsed = {}, .dropped = {}};
    const std::string out = run.merged();
    CHECK(out.find("le=\"0.5\"") == std::string::npos);
    CHECK(out.find("rt_count 2\n") != std::string::npos);
    CHECK(out.find("rt_count 9") == std::string::npos);
    CHECK(out.find("rt_count{path=\"/x\"} 4") != std::string::npos);
    CHECK(run.dropped == std::vector<std::size_t>{0, 1});
}

TEST_CASE("0.0.4 and OpenMetrics counters are the same series, other types are not") {
    merge_run run{
        .texts = {"# TYPE c_total counter\nc_total 1\n", "# TYPE c counter\nc_total 2\n# EOF\n",
                  "# TYPE c_total gauge\nc_total 3\n"},
        .parsed = {},
        .dropped = {}};
    run.merged();
    CHECK(run.dropped == std::vector<std::size_t>{0, 1, 0});
}

TEST_CASE("a series seen after a dropped one still finds its first source") {
    // The second source loses its first series; its second one becomes index 0 there, and a
    // third source that repeats it must still be compared against the right sample.
    merge_run run{.texts = {"a 1\n", "a 2\nb 2\n", "b 3\nc 3\n"}, .parsed = {}, .dropped = {}};
    const std::string out = run.merged();
    CHECK(run.dropped == std::vector<std::size_t>{0, 1, 1});
    CHECK(out.find("b 2") != std::string::npos);
    CHECK(out.find("b 3") == std::string::npos);
    CHECK(out.find("c 3") != std::string::npos);
}

TEST_CASE("many distinct series across many sources: nothing dropped, the table grows") {
    std::vector<std::string> texts;
    for (int s = 0; s < 20; ++s) {
        std::string text = "# TYPE m gauge\n";
        for (int i = 0; i < 500; ++i) {
            text += "m{s=\"" + std::to_string(s) + "\",i=\"" + std::to_string(i) + "\"} 1\n";
        }
        texts.push_back(std::move(text));
    }
    std::vector<exposition::parsed_exposition> parsed(texts.size());
    series_dedup dedup;  // not reserved: grows as it goes
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        REQUIRE(exposition::parse(texts[i], exposition::format::prometheus_text, parsed[i]));
        dropped += dedup.add(parsed[i]);
        CHECK(parsed[i].samples.size() == 500);
    }
    CHECK(dropped == 0);
    CHECK(dedup.table_bytes() >= 10000 * 16);
}
