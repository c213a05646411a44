// The open-addressing storage behind the parser's per-exposition sets (name_set, group_set):
// linear probing, load factor at most one half, and clearing by bumping a generation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mgw::exposition::detail {

// `Slot` is an aggregate with a `std::uint64_t hash` and a `std::uint32_t generation`; a slot is
// occupied when its generation is the table's current one, so clearing touches no slot and a
// steady-state parse neither allocates nor scans. Lookups and equality stay with the owner.
template <typename Slot>
class generational_table {
  public:
    // Forgets every entry in O(1); keeps the capacity.
    void clear() {
        ++generation_;
        size_ = 0;
        if (generation_ == 0) {  // wrapped: stale slots could look current again
            for (auto& s : slots_)
                s.generation = 0;
            generation_ = 1;
        }
    }

    // Grows first if one more entry would take the load factor over one half.
    void reserve_one() {
        if ((size_ + 1) * 2 > slots_.size())
            grow();
    }

    bool empty() const { return slots_.empty(); }
    // Probing starts at hash & mask() and steps by one, wrapping with the same mask.
    std::size_t mask() const { return slots_.size() - 1; }
    bool occupied(std::size_t i) const { return slots_[i].generation == generation_; }
    const Slot& operator[](std::size_t i) const { return slots_[i]; }

    // Stores `value` at the free index i, stamped with the current generation.
    void occupy(std::size_t i, Slot value) {
        value.generation = generation_;
        slots_[i] = value;
        ++size_;
    }

    // Stores `value` at the first free index of its probe sequence, without looking for an
    // equal entry (callers that need that probe themselves).
    void insert_new(const Slot& value) {
        const std::size_t m = mask();
        std::size_t i = value.hash & m;
        while (occupied(i))
            i = (i + 1) & m;
        occupy(i, value);
    }

  private:
    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
        const std::uint32_t old_generation = generation_;
        generation_ = 1;
        size_ = 0;
        for (const Slot& s : old) {
            if (s.generation == old_generation)
                insert_new(s);
        }
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    std::uint32_t generation_ = 1;
};

}  // namespace mgw::exposition::detail
