// The OpenMetrics conformance suite (test/corpus/openmetrics/parsers/*): every case must get
// the verdict of its test.json, and every mismatch is listed.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mgw/exposition/check.hpp"
#include "mgw/exposition/parser.hpp"

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("parser: OpenMetrics conformance suite gives every expected verdict") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(MGW_CORPUS_DIR) / "openmetrics" / "parsers";
    REQUIRE(fs::is_directory(root));
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(root))
        cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());

    std::size_t valid = 0;
    std::size_t invalid = 0;
    std::vector<std::string> mismatches;
    mgw::exposition::parsed_exposition parsed;  // reused on purpose: capacity carries over
    for (const auto& dir : cases) {
        const std::string spec = read_file(dir / "test.json");
        REQUIRE(spec.find("\"type\": \"text\"") != std::string::npos);
        const bool should_parse = spec.find("\"shouldParse\": true") != std::string::npos;
        REQUIRE((should_parse || spec.find("\"shouldParse\": false") != std::string::npos));
        (should_parse ? valid : invalid) += 1;
        const std::string input = read_file(dir / "metrics");
        const mgw::exposition::parse_result result =
            mgw::exposition::parse(input, mgw::exposition::format::openmetrics, parsed);
        const bool parsed_ok = result.has_value();
        if (parsed_ok != should_parse) {
            mismatches.push_back(dir.filename().string() + ": expected " +
                                 (should_parse ? "valid" : "invalid") + ", got " +
                                 (parsed_ok ? "valid" : result.error().message()));
        }
        // The check entry point agrees with parse when told the format.
        std::string diagnostic;
        CHECK(mgw::exposition::check_exposition(input, mgw::exposition::format::openmetrics,
                                                diagnostic) == (parsed_ok ? 0 : 1));
    }
    std::ostringstream listing;
    for (const auto& m : mismatches)
        listing << m << '\n';
    INFO(listing.str());
    CHECK(cases.size() == 211);
    CHECK(valid == 44);
    CHECK(invalid == 167);
    CHECK(mismatches.empty());
}
