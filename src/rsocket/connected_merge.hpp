// RSocket module (internal): the CPU work of one /metrics/connected answer once the texts are
// in: every text read leniently, each series kept from one client only, and the merged answer
// written chunk by chunk. Apart from the endpoint's I/O so that a unit test can hold its output
// to a recorded golden answer and a benchmark can count its instructions without sockets.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/model.hpp>
#include <mgw/exposition/writer.hpp>

#include "series_dedup.hpp"

namespace mgw::rsocket {

struct proxy_counters;

class connected_merge {
  public:
    // Reads `texts` (they must outlive this merge) in order; a text that does not parse is
    // counted and left out. The parsed forms and the duplicate table grow `lease`; false when
    // the lease refused (nothing is merged then). Counts parse errors, repairs and duplicates.
    bool read(std::span<const std::string_view> texts, core::memory_lease& lease,
              proxy_counters& counters, core::logger& log);
    // After a successful read: the merge in `options`; counts the type conflicts.
    void start(const exposition::writer_options& options, proxy_counters& counters);
    // Appends about `soft_limit` bytes (see merger::write_some); true once the answer is complete.
    bool write_some(std::string& out, std::size_t soft_limit) {
        return merger_.write_some(out, soft_limit);
    }
    // Samples of the texts read so far (before duplicates are dropped).
    std::size_t samples() const { return samples_; }

  private:
    std::vector<exposition::parsed_exposition> parsed_;
    std::vector<bool> valid_;
    series_dedup dedup_;
    // series_dedup removed the series repeated across clients: the merger need not look again.
    exposition::merger merger_{exposition::merge_options{.sources_deduplicated = true}};
    std::size_t samples_ = 0;
};

}  // namespace mgw::rsocket
