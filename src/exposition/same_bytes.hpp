// Equality of short texts (label names and values, sample name suffixes, metric names) without
// a call to memcmp: the lenient reader and the writer compare a few of them for every sample,
// and most are under 32 bytes, where the call costs more than the comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mgw::exposition::detail {

// Whether two short texts (label names and values, mostly under 16 bytes) are equal: sizes,
// then at most four overlapping fixed-size loads each, inline where memcmp would be a call.
inline bool same_bytes(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    if (n != b.size()) {
        return false;
    }
    const char* x = a.data();
    const char* y = b.data();
    if (n >= 8 && n <= 16) {
        std::uint64_t x0 = 0;
        std::uint64_t x1 = 0;
        std::uint64_t y0 = 0;
        std::uint64_t y1 = 0;
        std::memcpy(&x0, x, 8);
        std::memcpy(&y0, y, 8);
        std::memcpy(&x1, x + n - 8, 8);
        std::memcpy(&y1, y + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4 && n < 8) {
        std::uint32_t x0 = 0;
        std::uint32_t x1 = 0;
        std::uint32_t y0 = 0;
        std::uint32_t y1 = 0;
        std::memcpy(&x0, x, 4);
        std::memcpy(&y0, y, 4);
        std::memcpy(&x1, x + n - 4, 4);
        std::memcpy(&y1, y + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n < 4) {
        return n == 0 || (x[0] == y[0] && x[n >> 1] == y[n >> 1] && x[n - 1] == y[n - 1]);
    }
    if (n <= 32) {
        // Metric names: the first and the last 16 bytes.
        std::uint64_t d = 0;
        for (const std::size_t at : {std::size_t(0), std::size_t(8), n - 16, n - 8}) {
            std::uint64_t a = 0;
            std::uint64_t b = 0;
            std::memcpy(&a, x + at, 8);
            std::memcpy(&b, y + at, 8);
            d |= a ^ b;
        }
        return d == 0;
    }
    return std::memcmp(x, y, n) == 0;
}

}  // namespace mgw::exposition::detail
