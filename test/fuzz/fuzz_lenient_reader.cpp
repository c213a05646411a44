// libFuzzer target for the lenient source reader, with the gateway's output contract as the
// oracle: whatever read_lenient accepts, alone or merged with other sources, is written in
// both formats (legacy-escaped and UTF-8 names) and must pass the strict parser that
// `metrics-gateway check` runs. Also: strict acceptance implies lenient acceptance, the repair
// rules never fall back to dropping a family whole, a second read gives the same result, and
// the merged answer is the same bytes when the sources' canonical families are kept as lines
// (sample_lines.hpp, as the gateway holds instance bodies).
//
// Input: up to four sources separated by a line "---". The first byte of each source picks its
// format (bit 0: OpenMetrics) and label storage (bit 1: raw blocks); the first byte of the
// input also picks the merge's injected labels (bit 2: every source gets the same ones, as on
// /metrics/connected) and collision policy (bit 3).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/exposition/merger.hpp"
#include "mgw/exposition/parser.hpp"
#include "mgw/exposition/sample_lines.hpp"
#include "mgw/exposition/writer.hpp"

namespace {

using namespace mgw::exposition;

constexpr std::size_t max_sources = 4;

[[noreturn]] void fail(std::string_view what, std::string_view output, const std::string& error,
                       const std::vector<std::string_view>& sources) {
    std::fprintf(stderr, "ORACLE FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
    for (std::size_t i = 0; i < sources.size(); ++i) {
        std::fprintf(stderr, "---- source %zu ----\n%.*s\n", i, static_cast<int>(sources[i].size()),
                     sources[i].data());
    }
    std::fprintf(stderr, "---- output ----\n%.*s\n---- error: %s\n",
                 static_cast<int>(output.size()), output.data(), error.c_str());
    std::abort();
}

parse_limits fuzz_limits() {
    parse_limits limits;
    limits.max_line_bytes = 1 << 16;
    limits.max_samples = 10'000;
    return limits;
}

// The written output must be what `check` accepts, in the format it was written in.
void require_valid(const std::string& output, format fmt, std::string_view what,
                   const std::vector<std::string_view>& sources) {
    static parsed_exposition reparsed;
    if (const parse_result read = parse(output, fmt, reparsed); !read) {
        fail(what, output, read.error().message(), sources);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A private copy, exactly `size` bytes long, so reads past the end are caught by ASan.
    const std::string buffer(reinterpret_cast<const char*>(data), size);
    std::string_view rest(buffer);
    const unsigned flags = rest.empty() ? 0 : static_cast<unsigned char>(rest.front());

    std::vector<std::string_view> sources;
    while (sources.size() < max_sources) {
        const std::size_t separator = rest.find("\n---\n");
        if (separator == std::string_view::npos) {
            sources.push_back(rest);
            break;
        }
        sources.push_back(rest.substr(0, separator + 1));
        rest.remove_prefix(separator + 5);
    }

    static std::vector<parsed_exposition> parsed(max_sources);
    static std::vector<parsed_exposition> lines(max_sources);
    std::vector<bool> as_lines(sources.size(), false);
    std::vector<bool> accepted(sources.size(), false);
    const parse_limits limits = fuzz_limits();
    for (std::size_t i = 0; i < sources.size(); ++i) {
        std::string_view text = sources[i];
        const unsigned mode = text.empty() ? 0 : static_cast<unsigned char>(text.front());
        if (!text.empty()) {
            text.remove_prefix(1);
        }
        sources[i] = text;
        const format fmt = (mode & 1) != 0 ? format::openmetrics : format::prometheus_text;
        const label_storage storage =
            (mode & 2) != 0 ? label_storage::raw_when_canonical : label_storage::materialized;

        static parsed_exposition strict;
        const bool strict_ok = parse(text, fmt, strict, limits, storage).has_value();

        leniency_report report;
        const parse_result read = read_lenient(text, fmt, parsed[i], report, limits, storage);
        accepted[i] = read.has_value();
        if (strict_ok && !read) {
            fail("strictly valid input refused by the lenient reader", {}, read.error().message(),
                 {text});
        }
        if (!accepted[i]) {
            continue;
        }
        if (report.unrepairable() != 0) {
            fail("a family the repairs could not make valid", {}, {}, {text});
        }
        as_lines[i] = report.empty() && copy_as_sample_lines(parsed[i], text, lines[i]) != 0;
        // Idempotent: the same input reads to the same shape (warm scratch, reused object).
        static parsed_exposition again;
        leniency_report again_report;
        const parse_result second = read_lenient(text, fmt, again, again_report, limits, storage);
        if (!second || again.samples.size() != parsed[i].samples.size() ||
            again.families.size() != parsed[i].families.size()) {
            fail("a second lenient read differs", {},
                 second ? std::string() : second.error().message(), {text});
        }
        for (const format output : {format::prometheus_text, format::openmetrics}) {
            for (const bool utf8 : {false, true}) {
                std::string written;
                write_exposition(written, parsed[i], {output, utf8});
                require_valid(written, output, "one source written", {text});
            }
        }
    }

    // Merged, with each source's own injected labels (as instances get) or the same ones.
    const bool same_labels = (flags & 4) != 0;
    const collision_policy policy =
        (flags & 8) != 0 ? collision_policy::overwrite : collision_policy::rename_exported;
    static const std::string instances[max_sources] = {"0", "1", "2", "3"};
    std::vector<std::vector<label>> injected(sources.size());
    merger m({policy});
    merger m_lines({policy});
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (!accepted[i]) {
            continue;
        }
        injected[i] = {label{"app_id", "g", false, false},
                       label{"instance", same_labels ? instances[0] : instances[i], false, false}};
        m.add_source(parsed[i], injected[i]);
        m_lines.add_source(as_lines[i] ? lines[i] : parsed[i], injected[i]);
    }
    for (const format output : {format::prometheus_text, format::openmetrics}) {
        for (const bool utf8 : {false, true}) {
            const std::string merged = m.write_all({output, utf8});
            require_valid(merged, output, "sources merged", sources);
            // In small chunks, so that a write stops inside a family kept as lines.
            std::string merged_lines;
            m_lines.start({output, utf8});
            while (!m_lines.write_some(merged_lines, 61)) {
            }
            if (merged_lines != merged) {
                fail("a different answer with families kept as lines", merged_lines, {}, sources);
            }
        }
    }
    return 0;
}
