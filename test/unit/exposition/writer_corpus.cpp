// Round trips of the vendored corpora through parser, merger and writer: every valid input,
// written in either format (with injected labels), must parse again in that format, and
// writing is idempotent.
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

const std::array<label, 3> cf_labels{injected("app_id", "c1b2a3d4"), injected("index", "0"),
                                     injected("instance", "10.0.1.3:61000")};

// Writes `exp` (alone and merged with labels) in `output` and checks the parser accepts it.
void check_round_trip(const parsed_exposition& exp, format output, const std::string& name) {
    INFO(name << " as " << (output == format::openmetrics ? "OpenMetrics" : "0.0.4"));
    const writer_options opts{output, false};
    std::string written;
    write_exposition(written, exp, opts);
    parsed_exposition reparsed;
    INFO(written);
    if (const parse_result read = parse(written, output, reparsed); !read) {
        FAIL("re-parse: " << read.error().message());
    }
    std::string rewritten;
    write_exposition(rewritten, reparsed, opts);
    CHECK(rewritten == written);

    merger m;
    m.add_source(exp, cf_labels);
    const std::string merged = m.write_all(opts);
    INFO(merged);
    if (const parse_result read = parse(merged, output, reparsed); !read) {
        FAIL("re-parse of merged: " << read.error().message());
    }
    // Every sample is written, except those of families that clash in this format.
    std::size_t dropped = 0;
    for (const type_conflict& c : m.conflicts()) {
        for (const family& f : exp.families) {
            if (canonical_family_name(f, exp.source_format) == c.family && f.type == c.found) {
                dropped += f.samples.count;
            }
        }
    }
    CHECK(reparsed.samples.size() + dropped == exp.samples.size());
}

}  // namespace

TEST_CASE("valid OpenMetrics corpus cases survive writing in both formats") {
    const std::filesystem::path dir =
        std::filesystem::path(MGW_CORPUS_DIR) / "openmetrics" / "parsers";
    std::size_t valid = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string test = read_file(entry.path() / "test.json");
        if (test.find("\"shouldParse\": true") == std::string::npos) {
            continue;
        }
        ++valid;
        const std::string body = read_file(entry.path() / "metrics");
        parsed_exposition exp;
        const std::string name = entry.path().filename().string();
        INFO(name);
        if (const parse_result read = parse(body, format::openmetrics, exp); !read) {
            FAIL("corpus case rejected by the parser: " << read.error().message());
        }
        check_round_trip(exp, format::openmetrics, name);
        check_round_trip(exp, format::prometheus_text, name);
    }
    CHECK(valid == 44);
}

TEST_CASE("Prometheus' alltypes fixture survives writing in both formats") {
    for (const char* file : {"alltypes.237mfs.prom.txt", "alltypes.237mfs.nometa.prom.txt"}) {
        const std::string body =
            read_file(std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse" / file);
        parsed_exposition exp;
        INFO(file);
        if (const parse_result read = parse(body, format::prometheus_text, exp); !read) {
            FAIL(read.error().message());
        }
        CHECK(exp.samples.size() > 1800);
        check_round_trip(exp, format::prometheus_text, file);
        check_round_trip(exp, format::openmetrics, file);
    }
}
