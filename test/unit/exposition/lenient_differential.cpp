// Differential tests of the lenient reader's fast path. On input the strict parser accepts and
// that needs no repair, read_lenient must give the very model parse gives (families, samples,
// labels, exemplars), in both label storages, and note nothing. And whatever it repairs, it
// repairs alike whichever way labels are stored (raw canonical blocks or one label per entry):
// its checks compare label sets through both representations.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "mgw/exposition/parser.hpp"
#include "mgw/exposition/writer.hpp"

using namespace mgw::exposition;

namespace {

std::string read_corpus(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<label> labels_of(const parsed_exposition& p, const sample& s) {
    std::vector<label> out;
    append_labels_of(p, s, out);
    return out;
}

bool same_number(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

// Every field of the two models, storage aside (labels are compared as the list they stand for).
void check_same_model(const parsed_exposition& a, const parsed_exposition& b) {
    REQUIRE(a.families.size() == b.families.size());
    REQUIRE(a.samples.size() == b.samples.size());
    for (std::size_t f = 0; f < a.families.size(); ++f) {
        const family& x = a.families[f];
        const family& y = b.families[f];
        INFO("family " << x.name);
        CHECK(x.name == y.name);
        CHECK(x.type == y.type);
        CHECK(x.has_type == y.has_type);
        CHECK(x.help == y.help);
        CHECK(x.help_present == y.help_present);
        CHECK(x.unit == y.unit);
        CHECK(x.samples.first == y.samples.first);
        CHECK(x.samples.count == y.samples.count);
    }
    for (std::size_t i = 0; i < a.samples.size(); ++i) {
        const sample& x = a.samples[i];
        const sample& y = b.samples[i];
        INFO("sample " << i << " " << x.name);
        CHECK(x.name == y.name);
        CHECK(x.value_text == y.value_text);
        CHECK(same_number(x.value, y.value));
        CHECK(x.timestamp_text == y.timestamp_text);
        const std::vector<label> lx = labels_of(a, x);
        const std::vector<label> ly = labels_of(b, y);
        REQUIRE(lx.size() == ly.size());
        for (std::size_t l = 0; l < lx.size(); ++l) {
            CHECK(lx[l].name == ly[l].name);
            CHECK(lx[l].value == ly[l].value);
            CHECK(lx[l].name_was_quoted == ly[l].name_was_quoted);
            CHECK(lx[l].value_has_escapes == ly[l].value_has_escapes);
        }
        REQUIRE(x.has_exemplar() == y.has_exemplar());
        if (x.has_exemplar()) {
            const exemplar& ex = a.exemplars[x.exemplar_index];
            const exemplar& ey = b.exemplars[y.exemplar_index];
            CHECK(ex.value_text == ey.value_text);
            CHECK(ex.timestamp_text == ey.timestamp_text);
            CHECK(ex.labels.count == ey.labels.count);
        }
    }
}

constexpr label_storage storages[] = {label_storage::materialized,
                                      label_storage::raw_when_canonical};

// parse and read_lenient agree on `input` (which parse must accept), in both storages.
void check_lenient_is_strict(std::string_view input, format fmt) {
    for (const label_storage storage : storages) {
        INFO("storage " << static_cast<int>(storage));
        parsed_exposition strict;
        parsed_exposition lenient;
        leniency_report report;
        INFO(input);
        REQUIRE(parse(input, fmt, strict, {}, storage));
        REQUIRE(read_lenient(input, fmt, lenient, report, {}, storage));
        CHECK(report.empty());
        check_same_model(strict, lenient);
    }
}

std::vector<std::string> notes(const leniency_report& report, std::string_view input) {
    std::vector<std::string> out;
    for (const leniency_note& note : report.notes()) {
        out.push_back(leniency_report::describe(note, input));
    }
    return out;
}

// read_lenient of `input` gives one model and one set of notes in both storages.
void check_storages_agree(std::string_view input) {
    parsed_exposition first;
    leniency_report first_report;
    INFO(input);
    REQUIRE(read_lenient(input, format::prometheus_text, first, first_report, {},
                         label_storage::materialized));
    parsed_exposition raw;
    leniency_report raw_report;
    REQUIRE(read_lenient(input, format::prometheus_text, raw, raw_report, {},
                         label_storage::raw_when_canonical));
    check_same_model(first, raw);
    CHECK(notes(first_report, input) == notes(raw_report, input));
    for (const leniency_action action :
         {leniency_action::joined, leniency_action::ignored, leniency_action::dropped_family,
          leniency_action::dropped_metric, leniency_action::dropped_sample,
          leniency_action::repaired}) {
        CHECK(first_report.count(action) == raw_report.count(action));
    }
    CHECK(first_report.samples_dropped() == raw_report.samples_dropped());
}

}  // namespace

TEST_CASE("lenient differential: Prometheus' fixtures read leniently are the strict model") {
    const auto dir = std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse";
    check_lenient_is_strict(read_corpus(dir / "alltypes.237mfs.prom.txt"), format::prometheus_text);
    check_lenient_is_strict(read_corpus(dir / "1histogram.om.txt"), format::openmetrics);
}

TEST_CASE("lenient differential: valid OpenMetrics conformance inputs are the strict model") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(MGW_CORPUS_DIR) / "openmetrics" / "parsers";
    std::size_t valid = 0;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (read_corpus(entry.path() / "test.json").find("\"shouldParse\": true") ==
            std::string::npos) {
            continue;
        }
        INFO(entry.path().filename().string());
        check_lenient_is_strict(read_corpus(entry.path() / "metrics"), format::openmetrics);
        ++valid;
    }
    CHECK(valid == 44);
}

TEST_CASE("lenient differential: well-formed 0.0.4 shapes need no repair and change nothing") {
    const char* const inputs[] = {
        // A histogram per label set, le last, first or in the middle; one metric's samples
        // listing their labels in different orders are still one metric.
        "# TYPE h histogram\n"
        "h_bucket{a=\"1\",le=\"0.5\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\n"
        "h_sum{a=\"1\"} 3\nh_count{a=\"1\"} 2\n"
        "h_bucket{le=\"0.5\",a=\"2\",b=\"x\"} 0\nh_bucket{b=\"x\",le=\"+Inf\",a=\"2\"} 1\n"
        "h_sum{b=\"x\",a=\"2\"} 1\nh_count{a=\"2\",b=\"x\"} 1\n",
        // Escapes, blanks and a trailing comma keep blocks materialized in either storage.
        "# TYPE s summary\n"
        "s{path=\"a\\\\b\",quantile=\"0.5\"} 1\ns{path=\"a\\\\b\", quantile=\"0.9\"} 2\n"
        "s_sum{path=\"a\\\\b\",} 3\ns_count{ path=\"a\\\\b\"} 4\n"
        "s{path=\"c\",quantile=\"0.5\"} 1\ns_sum{path=\"c\"} 1\ns_count{path=\"c\"} 1\n",
        // Counters and gauges with many label sets, some differing only in a value's escape.
        "# TYPE c counter\nc_total{m=\"GET\",code=\"200\"} 1\nc_total{m=\"GET\",code=\"500\"} 2\n"
        "c_total{code=\"200\",m=\"POST\"} 3\nc_total{m=\"a\\nb\"} 4\nc_total{m=\"a\\\\nb\"} 5\n"
        "# TYPE g gauge\ng 1\ng{x=\"\"} 2\ng{x=\"1\",y=\"\"} 3\n",
        // Timestamps: one metric's rising, and several metrics each stamped.
        "# TYPE t gauge\nt{a=\"1\"} 1 1000\nt{a=\"2\"} 2 999\nt{a=\"3\"} 3 1001\n",
        // Untyped samples, one per name.
        "u1 1\nu2{a=\"b\"} 2\nu3{a=\"b\",c=\"d\"} 3\n",
    };
    for (const char* input : inputs) {
        check_lenient_is_strict(input, format::prometheus_text);
    }
}

TEST_CASE("lenient differential: repairs are the same whichever way labels are stored") {
    const char* const inputs[] = {
        // A metric spread over its family, in canonical and non-canonical blocks alike.
        "# TYPE h histogram\n"
        "h_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"2\",le=\"1\"} 1\n"
        "h_bucket{a=\"1\",le=\"+Inf\"} 2\nh_bucket{a=\"2\", le=\"+Inf\"} 1\n"
        "h_count{a=\"1\"} 2\nh_sum{a=\"1\"} 1\nh_count{a=\"2\",} 1\nh_sum{a=\"2\"} 1\n",
        // Buckets out of order, an le spelled as Go does, le in the middle of the block.
        "# TYPE h histogram\n"
        "h_bucket{a=\"1\",le=\"inf\",b=\"2\"} 3\nh_bucket{a=\"1\",le=\"1\",b=\"2\"} 1\n"
        "h_bucket{b=\"2\",a=\"1\",le=\"0.5\"} 0\nh_count{a=\"1\",b=\"2\"} 3\n"
        "h_sum{b=\"2\",a=\"1\"} 4\n",
        // A histogram without +Inf; one whose buckets do not add up.
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 2\nh_sum 3\n"
        "# TYPE k histogram\nk_bucket{x=\"y\",le=\"1\"} 3\nk_bucket{x=\"y\",le=\"+Inf\"} 2\n",
        // Repeated series, with and without escapes; repeated samples of a gauge.
        "# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"1\"} 2\ng{a=\"x\\\\y\"} 3\ng{a=\"x\\\\y\"} 4\n"
        "g{b=\"1\",a=\"2\"} 5\ng{a=\"2\",b=\"1\"} 6\n",
        // Timestamps that go back; on some samples only.
        "# TYPE t counter\nt_total{a=\"1\"} 1 2000\nt_total{a=\"1\"} 2 1000\n"
        "t_total{a=\"2\"} 1 1000\nt_total{a=\"2\"} 1\n",
        // Summaries with bad quantiles; counters with bad values.
        "# TYPE s summary\ns{quantile=\"2\",a=\"1\"} 1\ns{a=\"1\",quantile=\"0.5\"} 1\n"
        "s_sum{a=\"1\"} 1\ns_count{a=\"1\"} 1\n"
        "# TYPE c counter\nc_total{a=\"1\"} -1\nc_total{a=\"2\"} NaN\nc_total{a=\"3\"} 1\n",
        // Registries concatenated: a family repeated further down, another label added.
        "# TYPE r counter\nr_total{a=\"1\"} 1\n# TYPE q gauge\nq 1\n"
        "# TYPE r counter\nr_total{a=\"1\"} 2\nr_total{a=\"1\",reg=\"2\"} 3\n",
    };
    for (const char* input : inputs) {
        check_storages_agree(input);
    }
}
