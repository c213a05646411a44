// merge_options::sources_deduplicated: the merger leaves its per-sample duplicate check to a
// caller that removed repeated series already (rsocket's /metrics/connected), except where its
// own notion of a repeated metric is wider than the caller's guarantee. These cases are sources
// that satisfy the guarantee (no two hold the same family name, type and input label set) but
// that the merger still sees as one metric; the answer must be the one without the option.
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

using namespace mgw::exposition;

namespace {

struct merged {
    std::string text;
    std::size_t duplicates = 0;
};

// Reads each text leniently with raw label blocks where canonical (as /metrics/connected
// does) and merges them in order.
merged merge(const std::vector<std::string_view>& texts, bool deduplicated,
             const writer_options& output, std::span<const label> injected = {}) {
    std::vector<parsed_exposition> parsed(texts.size());
    merger m(merge_options{.sources_deduplicated = deduplicated});
    for (std::size_t i = 0; i < texts.size(); ++i) {
        leniency_report repairs;
        const parse_result result = read_lenient(texts[i], detect_format(texts[i]), parsed[i],
                                                 repairs, {}, label_storage::raw_when_canonical);
        REQUIRE(result);
        m.add_source(parsed[i], injected);
    }
    merged out;
    m.write_all(out.text, output);
    out.duplicates = m.duplicates_skipped();
    return out;
}

// The option changes nothing for these sources: the same answer, the same repeats skipped,
// and at least one was (so the case exercises the check it keeps).
void same_with_and_without(const std::vector<std::string_view>& texts, const writer_options& output,
                           std::span<const label> injected = {}) {
    const merged checked = merge(texts, false, output, injected);
    const merged trusted = merge(texts, true, output, injected);
    CHECK(checked.duplicates > 0);
    CHECK(trusted.duplicates == checked.duplicates);
    CHECK(trusted.text == checked.text);
}

const writer_options legacy_text{format::prometheus_text, false};
const writer_options utf8_text{format::prometheus_text, true};
const writer_options openmetrics{format::openmetrics, true};

}  // namespace

TEST_CASE("deduplicated sources: the merger trusts the caller where its notion is the same") {
    // Both sources repeat `m{a="1"}`, which breaks the caller's guarantee: with the option the
    // merger no longer looks for it, so both lines are written. This shows the check is off.
    const std::vector<std::string_view> texts{"# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"2\"} 2\n",
                                              "# TYPE m gauge\nm{a=\"1\"} 3\nm{a=\"3\"} 4\n"};
    const merged checked = merge(texts, false, utf8_text);
    const merged trusted = merge(texts, true, utf8_text);
    CHECK(checked.duplicates == 1);
    CHECK(checked.text.find("m{a=\"1\"} 3") == std::string::npos);
    CHECK(trusted.duplicates == 0);
    CHECK(trusted.text.find("m{a=\"1\"} 3") != std::string::npos);

    // Sources that keep the guarantee (0.0.4 and OpenMetrics counters, a histogram) give the
    // same answer either way.
    const std::vector<std::string_view> distinct{
        "# TYPE c_total counter\nc_total{a=\"1\"} 1\n# TYPE h histogram\n"
        "h_bucket{a=\"1\",le=\"+Inf\"} 1\nh_sum{a=\"1\"} 2\nh_count{a=\"1\"} 1\n",
        "# TYPE c counter\nc_total{a=\"2\"} 1\n# TYPE h histogram\n"
        "h_bucket{a=\"2\",le=\"+Inf\"} 1\nh_sum{a=\"2\"} 2\nh_count{a=\"2\"} 1\n# EOF\n"};
    for (const writer_options& output : {legacy_text, utf8_text, openmetrics}) {
        const merged a = merge(distinct, false, output);
        const merged b = merge(distinct, true, output);
        CHECK(a.duplicates == 0);
        CHECK(b.text == a.text);
    }
}

TEST_CASE("deduplicated sources: a stateset's states are one metric, still checked") {
    // The caller's series include the state label: `s{s="c"}` is new to it, but the merger
    // keeps one source's states together.
    same_with_and_without({"# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n",
                           "# TYPE s stateset\ns{s=\"c\"} 1\n# EOF\n"},
                          openmetrics);
}

TEST_CASE("deduplicated sources: families written under one name are still checked") {
    // `a.b` and `a_b` are one family for a legacy client: across sources and within one.
    same_with_and_without(
        {"# TYPE a_b gauge\na_b{x=\"1\"} 1\n", "# TYPE \"a.b\" gauge\n{\"a.b\",x=\"1\"} 2\n"},
        legacy_text);
    same_with_and_without(
        {"# TYPE a_b gauge\na_b{x=\"1\"} 1\n# TYPE \"a.b\" gauge\n{\"a.b\",x=\"1\"} 2\n"},
        legacy_text);
}

TEST_CASE("deduplicated sources: labels written alike from other input text are still checked") {
    // A quoted label name is compared as a legacy reader sees it.
    same_with_and_without(
        {"# TYPE m gauge\nm{a_b=\"1\"} 1\n", "# TYPE m gauge\nm{\"a.b\"=\"1\"} 2\n"}, utf8_text);
    // An unknown escape is written as an escaped backslash.
    same_with_and_without(
        {"# TYPE m gauge\nm{a=\"x\\\\q\"} 1\n", "# TYPE m gauge\nm{a=\"x\\q\"} 2\n"}, utf8_text);
    // An own label renamed for an injected one of the same name (`app` -> `exported_app`) is
    // written as another source's own `exported_app`.
    const std::vector<label> app{label{"app", "1", false, false}};
    same_with_and_without(
        {"# TYPE m gauge\nm{app=\"x\"} 1\n", "# TYPE m gauge\nm{exported_app=\"x\"} 2\n"},
        utf8_text, app);
}
