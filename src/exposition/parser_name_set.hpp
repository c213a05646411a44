// Set of metric names seen so far in one exposition, used to reject families that reappear or
// clash by suffix. Open addressing, names stored as (base, suffix) views so "a" + "_total" needs
// no concatenation; clearing bumps a generation instead of touching the slots.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace mgw::exposition::detail {

class name_set {
  public:
    // Forgets every name in O(1); keeps the capacity.
    void clear() {
        ++generation_;
        size_ = 0;
        if (generation_ == 0) {  // wrapped: stale slots could look current again
            for (auto& s : slots_)
                s.generation = 0;
            generation_ = 1;
        }
    }

    // Inserts base + suffix; false when that name is already present.
    bool insert(std::string_view base, std::string_view suffix) {
        if ((size_ + 1) * 2 > slots_.size())
            grow();
        const std::uint64_t hash = hash_of(base, suffix);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            slot& s = slots_[i];
            if (s.generation != generation_) {
                s = slot{base, suffix, hash, generation_};
                ++size_;
                return true;
            }
            if (s.hash == hash && equal(s, base, suffix))
                return false;
        }
    }

  private:
    struct slot {
        std::string_view base;
        std::string_view suffix;
        std::uint64_t hash = 0;
        std::uint32_t generation = 0;
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
            slots_[i] = slot{s.base, s.suffix, s.hash, generation_};
            ++size_;
        }
    }

    std::vector<slot> slots_;
    std::size_t size_ = 0;
    std::uint32_t generation_ = 1;
};

}  // namespace mgw::exposition::detail
