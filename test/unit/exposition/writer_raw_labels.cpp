// label_storage::raw_when_canonical: which 0.0.4 label blocks are kept raw, and that the writer
// and merger emit byte for byte what they emit for the same input parsed with materialised
// labels, alone and merged with injected labels that do and do not collide.
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>

using namespace mgw::exposition;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

label injected(std::string_view name, std::string_view value) {
    label l;
    l.name = name;
    l.value = value;
    return l;
}

const std::array<label, 3> plain_labels{injected("app_id", "c1b2a3d4"), injected("index", "0"),
                                        injected("instance", "10.0.1.3:61000")};
// Names the fixtures use (le, quantile, code, method, ...) and one prefixed name, so the
// exported_ renaming and the overwrite policy both run on raw blocks.
const std::array<label, 6> colliding_labels{
    injected("le", "x"),     injected("quantile", "q"),      injected("code", "c"),
    injected("method", "m"), injected("exported_code", "e"), injected("instance", "i")};

parsed_exposition parse_as(const std::string& body, label_storage storage) {
    parsed_exposition exp;
    REQUIRE(parse(body, format::prometheus_text, exp, {}, storage));
    return exp;
}

std::string merged(const parsed_exposition& exp, std::span<const label> labels,
                   collision_policy policy, const writer_options& opts) {
    merger m({policy});
    m.add_source(exp, labels);
    m.add_source(exp, {});  // the same source again, without injected labels
    return m.write_all(opts);
}

// Every output the two storages can differ in.
void check_same_output(const std::string& body) {
    const parsed_exposition full = parse_as(body, label_storage::materialized);
    const parsed_exposition raw = parse_as(body, label_storage::raw_when_canonical);
    REQUIRE(raw.samples.size() == full.samples.size());
    std::vector<label> a;
    std::vector<label> b;
    for (std::size_t i = 0; i < full.samples.size(); ++i) {
        a.clear();
        b.clear();
        append_labels_of(full, full.samples[i], a);
        append_labels_of(raw, raw.samples[i], b);
        REQUIRE(a.size() == b.size());
        for (std::size_t j = 0; j < a.size(); ++j) {
            CHECK(a[j].name == b[j].name);
            CHECK(a[j].value == b[j].value);
            CHECK(a[j].name_was_quoted == b[j].name_was_quoted);
            CHECK(a[j].value_has_escapes == b[j].value_has_escapes);
        }
    }
    for (const format output : {format::prometheus_text, format::openmetrics}) {
        for (const bool utf8 : {false, true}) {
            const writer_options opts{output, utf8};
            std::string written_full;
            std::string written_raw;
            write_exposition(written_full, full, opts);
            write_exposition(written_raw, raw, opts);
            CHECK(written_raw == written_full);
            for (const collision_policy policy :
                 {collision_policy::rename_exported, collision_policy::overwrite}) {
                CHECK(merged(raw, plain_labels, policy, opts) ==
                      merged(full, plain_labels, policy, opts));
                CHECK(merged(raw, colliding_labels, policy, opts) ==
                      merged(full, colliding_labels, policy, opts));
            }
        }
    }
}

}  // namespace

TEST_CASE("raw label blocks: only canonical 0.0.4 blocks are kept raw") {
    const auto raw_size = [](const std::string& body) {
        const parsed_exposition exp = parse_as(body, label_storage::raw_when_canonical);
        REQUIRE(exp.samples.size() == 1);
        return exp.samples[0].raw_labels_size;
    };
    CHECK(raw_size("a{b=\"c\",d=\"\"} 1\n") == 10);
    CHECK(raw_size("a{b=\"c\"} 1\n") == 5);
    CHECK(raw_size("a_total{le=\"+Inf\",x=\"a b,c=d\"} 1 1700000000000\n") == 21);
    // Everything a writer would spell differently stays materialised.
    CHECK(raw_size("a 1\n") == 0);
    CHECK(raw_size("a{} 1\n") == 0);
    CHECK(raw_size("a {b=\"c\"} 1\n") == 0);
    CHECK(raw_size("a{ b=\"c\"} 1\n") == 0);
    CHECK(raw_size("a{b =\"c\"} 1\n") == 0);
    CHECK(raw_size("a{b= \"c\"} 1\n") == 0);
    CHECK(raw_size("a{b=\"c\" } 1\n") == 0);
    CHECK(raw_size("a{b=\"c\",} 1\n") == 0);
    CHECK(raw_size("a{b=\"c\", d=\"e\"} 1\n") == 0);
    CHECK(raw_size("a{b=\"c\\n\"} 1\n") == 0);
    CHECK(raw_size("a{b=\"\\z\"} 1\n") == 0);
    CHECK(raw_size("a{\"b\"=\"c\"} 1\n") == 0);
    CHECK(raw_size("a{\"b.c\"=\"d\"} 1\n") == 0);
    CHECK(raw_size("{\"a\",b=\"c\"} 1\n") == 0);
    CHECK(raw_size("{\"a.b\",b=\"c\"} 1\n") == 0);

    const std::string body = "a{b=\"c\",d=\"e\"} 1\n";
    const parsed_exposition raw = parse_as(body, label_storage::raw_when_canonical);
    CHECK(raw.labels.empty());
    CHECK(raw.samples[0].raw_labels() == "b=\"c\",d=\"e\"");
    CHECK(raw.samples[0].labels.count == 0);
    // The default keeps every label in `labels`.
    const parsed_exposition full = parse_as(body, label_storage::materialized);
    CHECK(full.labels.size() == 2);
    CHECK_FALSE(full.samples[0].has_raw_labels());
}

// fuzz_parser and fuzz_lenient_reader (2026-12-06): the raw-block line of a sample without a
// name suffix copied the suffix's std::string_view() with memcpy from a null pointer (UBSan
// under the asan preset). The exact line is written, without and with injected labels.
TEST_CASE("raw label blocks: a sample without a name suffix is written exactly") {
    // The parse holds views into its body, which must outlive it.
    const std::string body =
        "# TYPE a histogram\na_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 0\na_sum 0\n"
        "a_count 0\n";
    const parsed_exposition raw = parse_as(body, label_storage::raw_when_canonical);
    REQUIRE(raw.samples[0].has_raw_labels());
    std::string written;
    write_exposition(written, raw, {format::prometheus_text, false});
    CHECK(written ==
          "# TYPE a histogram\na_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 0\na_sum 0\n"
          "a_count 0\n");
    const std::array<label, 1> app{injected("app", "x")};
    merger m;
    m.add_source(raw, app);
    CHECK(m.write_all({format::prometheus_text, false}) ==
          "# TYPE a histogram\na_bucket{le=\"-1\",app=\"x\"} 0\n"
          "a_bucket{le=\"+Inf\",app=\"x\"} 0\na_sum{app=\"x\"} 0\na_count{app=\"x\"} 0\n");
}

TEST_CASE("raw label blocks: OpenMetrics input is always materialised") {
    parsed_exposition exp;
    REQUIRE(parse("a_total{b=\"c\"} 1\n# EOF\n", format::openmetrics, exp, {},
                  label_storage::raw_when_canonical));
    CHECK_FALSE(exp.samples[0].has_raw_labels());
    CHECK(exp.labels.size() == 1);
}

TEST_CASE("raw label blocks: colliding own labels are renamed or dropped as before") {
    const std::string body =
        "# TYPE a counter\n"
        "a{instance=\"x\",exported_instance=\"y\",job=\"j\"} 1\n"
        "a{job=\"k\"} 2\n";
    const parsed_exposition raw = parse_as(body, label_storage::raw_when_canonical);
    REQUIRE(raw.samples[0].has_raw_labels());
    const std::array<label, 1> inst{injected("instance", "10.0.0.1:8080")};
    const writer_options opts{format::prometheus_text, true};
    CHECK(merged(raw, inst, collision_policy::rename_exported, opts) ==
          "# TYPE a counter\n"
          "a{exported_exported_instance=\"x\",exported_instance=\"y\",job=\"j\","
          "instance=\"10.0.0.1:8080\"} 1\n"
          "a{job=\"k\",instance=\"10.0.0.1:8080\"} 2\n"
          "a{instance=\"x\",exported_instance=\"y\",job=\"j\"} 1\n"
          "a{job=\"k\"} 2\n");
    CHECK(merged(raw, inst, collision_policy::overwrite, opts) ==
          "# TYPE a counter\n"
          "a{exported_instance=\"y\",job=\"j\",instance=\"10.0.0.1:8080\"} 1\n"
          "a{job=\"k\",instance=\"10.0.0.1:8080\"} 2\n"
          "a{instance=\"x\",exported_instance=\"y\",job=\"j\"} 1\n"
          "a{job=\"k\"} 2\n");
    check_same_output(body);
}

TEST_CASE("raw label blocks: the fixtures and corpus write identically in both storages") {
    for (const char* file : {"alltypes.237mfs.prom.txt", "alltypes.237mfs.nometa.prom.txt"}) {
        INFO(file);
        const std::string body =
            read_file(std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse" / file);
        const parsed_exposition raw = parse_as(body, label_storage::raw_when_canonical);
        std::size_t raw_samples = 0;
        for (const sample& s : raw.samples) {
            raw_samples += s.has_raw_labels() ? 1 : 0;
        }
        CHECK(raw_samples > 1000);  // the fixture is what client_golang writes: canonical
        check_same_output(body);
    }
    // The OpenMetrics conformance bodies that are also valid 0.0.4, and some that are lenient
    // 0.0.4 (blanks, trailing commas, escapes).
    const std::filesystem::path dir =
        std::filesystem::path(MGW_CORPUS_DIR) / "openmetrics" / "parsers";
    std::size_t compared = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string body = read_file(entry.path() / "metrics");
        parsed_exposition exp;
        if (!parse(body, format::prometheus_text, exp)) {
            continue;
        }
        INFO(entry.path().filename().string());
        check_same_output(body);
        ++compared;
    }
    CHECK(compared > 40);
    check_same_output(
        "# HELP m Help \\\\ text\n"
        "# TYPE m gauge\n"
        "m{ a = \"1\" , b=\"x\\\"y\", } 1\n"
        "m{a=\"2\",b=\"z\"} 2 1700000000123\n"
        "m{a=\"3\",\"dotted.name\"=\"v\"} 3\n"
        "{\"m\",a=\"4\"} 4\n"
        "m{a=\"5\",b=\"\\z\"} 5\n"
        "m 6\n");
}
