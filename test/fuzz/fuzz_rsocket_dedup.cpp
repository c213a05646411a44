// libFuzzer target for the duplicate-series filter of /metrics/connected: the input is split at
// NUL bytes into up to four client expositions (client input), each parsed and passed through
// series_dedup in order, then merged. Afterwards no two sources may share a series (family,
// type, labels without le/quantile for histograms and summaries), every sample kept must come
// from its source's input, and the merge must complete. A second merger told that the sources
// are deduplicated (merge_options::sources_deduplicated, as /metrics/connected sets it) must
// write the same answer, with the same repeats skipped, in 0.0.4 with and without UTF-8 names
// and in OpenMetrics.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "mgw/exposition/merger.hpp"
#include "mgw/exposition/parser.hpp"
#include "series_dedup.hpp"

namespace {

using namespace mgw::exposition;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

using series_key = std::tuple<std::string, int, std::vector<std::pair<std::string, std::string>>>;

std::set<series_key> keys_of(const parsed_exposition& e) {
    std::set<series_key> keys;
    std::vector<label> labels;
    for (const family& f : e.families) {
        std::string name(f.name);
        if (f.type == metric_type::counter && name.ends_with("_total")) {
            name.resize(name.size() - 6);
        }
        const bool grouped = f.type == metric_type::histogram || f.type == metric_type::summary ||
                             f.type == metric_type::gaugehistogram;
        for (std::uint32_t i = f.samples.first; i < f.samples.first + f.samples.count; ++i) {
            labels.clear();
            append_labels_of(e, e.samples[i], labels);
            std::vector<std::pair<std::string, std::string>> set;
            for (const label& l : labels) {
                if (!(grouped && (l.name == "le" || l.name == "quantile"))) {
                    set.emplace_back(l.name, l.value);
                }
            }
            std::sort(set.begin(), set.end());
            keys.emplace(name, static_cast<int>(f.type), std::move(set));
        }
    }
    return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(bytes), size);
    std::vector<std::string> texts;
    for (std::size_t at = 0; texts.size() < 4;) {
        const std::size_t end = input.find('\0', at);
        texts.emplace_back(input.substr(at, end == std::string_view::npos ? end : end - at));
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 1;
    }
    std::vector<parsed_exposition> parsed(texts.size());
    std::vector<bool> valid(texts.size(), false);
    mgw::rsocket::series_dedup dedup;
    merger merge;
    merger trusted(merge_options{.sources_deduplicated = true});
    for (std::size_t i = 0; i < texts.size(); ++i) {
        // Both ways the parser stores labels: materialized, and raw blocks as the proxy parses.
        const label_storage storage =
            i % 2 == 0 ? label_storage::raw_when_canonical : label_storage::materialized;
        if (!parse(texts[i], detect_format(texts[i]), parsed[i], {}, storage)) {
            continue;
        }
        valid[i] = true;
        const std::size_t before = parsed[i].samples.size();
        const std::size_t dropped = dedup.add(parsed[i]);
        require(dropped <= before);
        require(parsed[i].samples.size() <= before);
        for (const sample& s : parsed[i].samples) {
            require(s.name.data() >= texts[i].data() &&
                    s.name.data() + s.name.size() <= texts[i].data() + texts[i].size());
        }
        merge.add_source(parsed[i]);
        trusted.add_source(parsed[i]);
    }
    std::set<series_key> seen;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (!valid[i]) {
            continue;
        }
        for (const series_key& key : keys_of(parsed[i])) {
            require(seen.insert(key).second);
        }
    }
    for (const writer_options& options :
         {writer_options{.output = format::prometheus_text},
          writer_options{.output = format::prometheus_text, .utf8_names = false},
          writer_options{.output = format::openmetrics}}) {
        std::string out;
        merge.write_all(out, options);
        std::string trusted_out;
        trusted.write_all(trusted_out, options);
        require(trusted_out == out);
        require(trusted.duplicates_skipped() == merge.duplicates_skipped());
    }
    return 0;
}
