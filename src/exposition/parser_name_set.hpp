// Set of metric names seen so far in one exposition, used to reject families that reappear or
// clash by suffix. Open addressing, names stored as (base, suffix) views so "a" + "_total" needs
// no concatenation; clearing bumps a generation instead of touching the slots.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "parser_generational_table.hpp"

namespace mgw::exposition::detail {

class name_set {
  public:
    // Forgets every name in O(1); keeps the capacity.
    void clear() { slots_.clear(); }

    static constexpr std::uint32_t absent = UINT32_MAX;

    // Inserts base + suffix; false when that name is already present.
    bool insert(std::string_view base, std::string_view suffix) {
        return emplace(base, suffix, 0) == absent;
    }

    // Inserts base + suffix with `value` (a lenient read stores the index of the family that
    // owns the name). Returns `absent` when inserted, else the value already stored.
    std::uint32_t emplace(std::string_view base, std::string_view suffix, std::uint32_t value) {
        slots_.reserve_one();
        const std::uint64_t hash = hash_of(base, suffix);
        const std::size_t mask = slots_.mask();
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            if (!slots_.occupied(i)) {
                slots_.occupy(i, slot{base, suffix, hash, 0, value});
                return absent;
            }
            const slot& s = slots_[i];
            if (s.hash == hash && equal(s, base, suffix))
                return s.value;
        }
    }

    // The value stored with base + suffix, or `absent`.
    std::uint32_t find(std::string_view base, std::string_view suffix) const {
        if (slots_.empty())
            return absent;
        const std::uint64_t hash = hash_of(base, suffix);
        const std::size_t mask = slots_.mask();
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            if (!slots_.occupied(i))
                return absent;
            const slot& s = slots_[i];
            if (s.hash == hash && equal(s, base, suffix))
                return s.value;
        }
    }

  private:
    struct slot {
        std::string_view base;
        std::string_view suffix;
        std::uint64_t hash = 0;
        std::uint32_t generation = 0;
        std::uint32_t value = 0;
    };

    // A function of the concatenation only (never of where it is split). Usual names are
    // joined in a stack buffer and hashed eight bytes at a time.
    static std::uint64_t hash_of(std::string_view base, std::string_view suffix) {
        const std::size_t size = base.size() + suffix.size();
        std::uint64_t h = 0xcbf29ce484222325ULL ^ size;
        if (size > 256) {
            for (const char c : base) {
                h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
            }
            for (const char c : suffix) {
                h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
            }
            return h ^ (h >> 29);
        }
        char joined[264] = {};
        // Empty views may have a null data(), which memcpy must not receive.
        if (!base.empty())
            std::memcpy(joined, base.data(), base.size());
        if (!suffix.empty())
            std::memcpy(joined + base.size(), suffix.data(), suffix.size());
        for (std::size_t i = 0; i < size; i += 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, joined + i, sizeof word);
            h = (h ^ word) * 0x9E3779B97F4A7C15ULL;
            h ^= h >> 32;
        }
        return h ^ (h >> 29);
    }

    // Compares the concatenations s.base + s.suffix and base + suffix.
    static bool equal(const slot& s, std::string_view base, std::string_view suffix) {
        if (s.base.size() + s.suffix.size() != base.size() + suffix.size())
            return false;
        const std::string_view left[2] = {s.base, s.suffix};
        const std::string_view right[2] = {base, suffix};
        std::size_t li = 0, lo = 0, ri = 0, ro = 0;
        while (li < 2 && ri < 2) {
            if (lo == left[li].size()) {
                ++li;
                lo = 0;
                continue;
            }
            if (ro == right[ri].size()) {
                ++ri;
                ro = 0;
                continue;
            }
            const std::size_t n = std::min(left[li].size() - lo, right[ri].size() - ro);
            if (std::memcmp(left[li].data() + lo, right[ri].data() + ro, n) != 0)
                return false;
            lo += n;
            ro += n;
        }
        return true;
    }

    generational_table<slot> slots_;
};

}  // namespace mgw::exposition::detail
