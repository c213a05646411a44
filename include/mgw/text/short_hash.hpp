// Text module: a fast hash of short text (label names and values, mostly under 16 bytes) for
// the tables that find repeated series: the conformer's label sets (exposition) and the RSocket
// duplicate filter. At most two loads that stay inside the text (overlapping when it is shorter
// than 16 bytes) and one 64x64 -> 128-bit multiply, where a general hash mixes every word in
// turn: a sample's labels cost half as many instructions. Only the speed of a table depends on
// it; equal hashes are always confirmed by comparing the text. Header-only, so that it inlines
// into those loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mgw::text {

inline std::uint64_t load8(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline std::uint64_t load4(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Both words mixed fully in one multiply.
__extension__ using uint128 = unsigned __int128;  // GCC's and Clang's, on x86-64 and AArch64
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) {
    const uint128 r = static_cast<uint128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t short_text_hash(std::string_view s, std::uint64_t seed) {
    const char* p = s.data();
    const std::size_t n = s.size();
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (n <= 16) {
        if (n >= 8) {
            a = load8(p);
            b = load8(p + n - 8);
        } else if (n >= 4) {
            a = load4(p);
            b = load4(p + n - 4);
        } else if (n > 0) {
            a = (std::uint64_t{static_cast<unsigned char>(p[0])} << 16) |
                (std::uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
                static_cast<unsigned char>(p[n - 1]);
        }
    } else {
        std::size_t left = n;
        for (; left > 16; p += 16, left -= 16) {
            seed = fold_multiply(load8(p) ^ 0xa0761d6478bd642fULL, load8(p + 8) ^ seed);
        }
        a = load8(p + left - 16);
        b = load8(p + left - 8);
    }
    return fold_multiply(a ^ 0xe7037ed1a0b428dbULL ^ n, b ^ seed);
}

}  // namespace mgw::text
