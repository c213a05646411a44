// Per-family set of label groups for OpenMetrics' "metrics must not interleave" rule: open
// addressing on a caller-computed hash, with equality decided by the caller, so groups are
// represented by a sample index and nothing is copied. Clearing bumps a generation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "parser_generational_table.hpp"

namespace mgw::exposition::detail {

// Set of the label groups (a metric's labels without le/quantile/the stateset label) seen in
// the current family, each represented by the index of a sample that has it.
class group_set {
  public:
    void clear() { slots_.clear(); }

    // True when a stored group has `hash` and `equal(its sample index)` accepts it.
    template <typename Equal>
    bool contains(std::uint64_t hash, Equal&& equal) const {
        if (slots_.empty())
            return false;
        const std::size_t mask = slots_.mask();
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            if (!slots_.occupied(i))
                return false;
            const slot& s = slots_[i];
            if (s.hash == hash && equal(s.sample_index))
                return true;
        }
    }

    // The sample index stored for a group that has `hash` and that `equal` accepts, or
    // UINT32_MAX when there is none.
    template <typename Equal>
    std::uint32_t find(std::uint64_t hash, Equal&& equal) const {
        if (slots_.empty())
            return UINT32_MAX;
        const std::size_t mask = slots_.mask();
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            if (!slots_.occupied(i))
                return UINT32_MAX;
            const slot& s = slots_[i];
            if (s.hash == hash && equal(s.sample_index))
                return s.sample_index;
        }
    }

    void insert(std::uint64_t hash, std::uint32_t sample_index) {
        slots_.reserve_one();
        slots_.insert_new(slot{hash, sample_index, 0});
    }

  private:
    struct slot {
        std::uint64_t hash = 0;
        std::uint32_t sample_index = 0;
        std::uint32_t generation = 0;
    };

    generational_table<slot> slots_;
};

}  // namespace mgw::exposition::detail
