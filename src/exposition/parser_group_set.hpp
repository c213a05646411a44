// Per-family set of label groups for OpenMetrics' "metrics must not interleave" rule: open
// addressing on a caller-computed hash, with equality decided by the caller, so groups are
// represented by a sample index and nothing is copied. Clearing bumps a generation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mgw::exposition::detail {

// Set of the label groups (a metric's labels without le/quantile/the stateset label) seen in
// the current family, each represented by the index of a sample that has it.
class group_set {
  public:
    void clear() {
        ++generation_;
        size_ = 0;
        if (generation_ == 0) {
            for (auto& s : slots_)
                s.generation = 0;
            generation_ = 1;
        }
    }

    // True when a stored group has `hash` and `equal(its sample index)` accepts it.
    template <typename Equal>
    bool contains(std::uint64_t hash, Equal&& equal) const {
        if (slots_.empty())
            return false;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            const slot& s = slots_[i];
            if (s.generation != generation_)
                return false;
            if (s.hash == hash && equal(s.sample_index))
                return true;
        }
    }

    void insert(std::uint64_t hash, std::uint32_t sample_index) {
        if ((size_ + 1) * 2 > slots_.size())
            grow();
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = hash & mask;
        while (slots_[i].generation == generation_)
            i = (i + 1) & mask;
        slots_[i] = slot{hash, sample_index, generation_};
        ++size_;
    }

  private:
    struct slot {
        std::uint64_t hash = 0;
        std::uint32_t sample_index = 0;
        std::uint32_t generation = 0;
    };

    void grow() {
        std::vector<slot> old;
        old.swap(slots_);
        slots_.assign(old.empty() ? 64 : old.size() * 2, slot{});
        const std::uint32_t old_generation = generation_;
        generation_ = 1;
        size_ = 0;
        const std::size_t mask = slots_.size() - 1;
        for (const slot& s : old) {
            if (s.generation != old_generation)
                continue;
            std::size_t i = s.hash & mask;
            while (slots_[i].generation == generation_)
                i = (i + 1) & mask;
            slots_[i] = slot{s.hash, s.sample_index, generation_};
            ++size_;
        }
    }

    std::vector<slot> slots_;
    std::size_t size_ = 0;
    std::uint32_t generation_ = 1;
};

}  // namespace mgw::exposition::detail
