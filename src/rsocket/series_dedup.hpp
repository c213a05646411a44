// RSocket module (internal): one series, one value in /metrics/connected. Two clients exposing
// the same series (two instances of an app without an instance tag, or one instance during a
// reconnect, old and new connection both alive) would give a merged answer with the series
// twice; Prometheus would keep the first sample and count the rest as duplicates. This keeps the
// series of the first source that exposed it (sources are added oldest connection first, so the
// same client wins every scrape and a value never flips between two clients) and drops it from
// later ones, counted. A histogram or summary is one series here (its buckets, quantiles, _sum
// and _count go together), so a kept histogram is never a mix of two clients. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <mgw/exposition/model.hpp>

namespace mgw::rsocket {

class series_dedup {
  public:
    // Prepares for sources with about `samples` samples in all (sizes the table once).
    void reserve(std::size_t samples);
    // Removes from `source` every series an earlier source of this merge exposed; returns how
    // many series were removed. `source` must stay alive (and unmodified) until clear().
    std::size_t add(exposition::parsed_exposition& source);
    void clear();

    // Bytes the table holds (it is leased by the caller).
    std::size_t table_bytes() const { return slots_.capacity() * sizeof(slot); }

  private:
    struct slot {
        std::uint32_t hash = 0;  // 0: empty
        std::uint32_t source = 0;
        std::uint32_t family = 0;
        std::uint32_t sample = 0;  // the first sample of the series in that source
    };
    struct key_view {
        const exposition::parsed_exposition* source;
        std::uint32_t family;
        std::uint32_t sample;
    };

    bool same_series(const key_view& a, const key_view& b);
    void grow();

    std::vector<slot> slots_;  // open addressing, power-of-two size
    std::size_t used_ = 0;
    std::vector<const exposition::parsed_exposition*> sources_;
    std::vector<std::uint32_t> hashes_;  // of one family's samples
    std::vector<exposition::label> a_;   // of two samples being compared
    std::vector<exposition::label> b_;
};

}  // namespace mgw::rsocket
