// The merge of /metrics/connected: lenient reads, one series once, the merger.
#include "connected_merge.hpp"

#include <mgw/exposition/parser.hpp>

#include "proxy_metrics.hpp"

namespace mgw::rsocket {

namespace {

// What a parsed exposition holds besides its text.
std::size_t parsed_bytes(const exposition::parsed_exposition& e) {
    return e.families.capacity() * sizeof(exposition::family) +
           e.samples.capacity() * sizeof(exposition::sample) +
           e.labels.capacity() * sizeof(exposition::label) +
           e.exemplars.capacity() * sizeof(exposition::exemplar);
}

}  // namespace

bool connected_merge::read(std::span<const std::string_view> texts, core::memory_lease& lease,
                           proxy_counters& counters, core::logger& log) {
    parsed_.assign(texts.size(), {});
    valid_.assign(texts.size(), false);
    samples_ = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string_view text = texts[i];
        // Read as Prometheus would (a multi-registry client repeats families), repaired so
        // that the answer stays valid; raw label blocks where canonical (Micrometer writes
        // them so): smaller to hold and copied whole by the merger.
        exposition::leniency_report repairs;
        const exposition::parse_result result =
            exposition::read_lenient(text, exposition::detect_format(text), parsed_[i], repairs, {},
                                     exposition::label_storage::raw_when_canonical);
        if (!result) {
            counters.parse_errors.Increment();
            log.debug("rsocket client exposition invalid", {{"error", result.error().message()}});
            parsed_[i] = {};
            continue;
        }
        counters.count_repairs(repairs);
        valid_[i] = true;
        samples_ += parsed_[i].samples.size();
        if (!lease.grow(parsed_bytes(parsed_[i]))) {
            return false;
        }
    }
    if (texts.size() > 1) {
        dedup_.reserve(samples_);
        if (!lease.grow(dedup_.table_bytes())) {
            return false;
        }
    }
    std::size_t duplicates = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (!valid_[i]) {
            continue;
        }
        if (texts.size() > 1) {
            duplicates += dedup_.add(parsed_[i]);
        }
        merger_.add_source(parsed_[i]);
    }
    counters.duplicate_series.Increment(static_cast<double>(duplicates));
    return true;
}

void connected_merge::start(const exposition::writer_options& options, proxy_counters& counters) {
    merger_.start(options);
    counters.type_conflicts.Increment(static_cast<double>(merger_.conflicts().size()));
}

}  // namespace mgw::rsocket
