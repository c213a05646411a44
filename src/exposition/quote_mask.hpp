// The quotes of a canonical label block of 16 to 64 bytes as one 64-bit mask, found 16 bytes at
// a time with SSE2. The lenient reader (parser_conform.cpp, the group hash of every sample) and
// the writer (writer.cpp, the injected-name check of every merged sample) both walk the quotes
// of such blocks, most of which fit one word: one loop for both, inline because it is the
// heart of those two hot loops and a call would cost about as much as the loop.
#pragma once

#if defined(__SSE2__)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <emmintrin.h>
#include <string_view>

namespace mgw::exposition::detail {

// Bit i set when block[i] is `"`. `block` holds 16 to 64 bytes: every load is 16 bytes inside
// it, the last one overlapping the one before when the size is not a multiple of 16 (its bits
// for bytes already seen are the same, so the OR keeps them).
inline std::uint64_t quote_mask(std::string_view block) {
    const char* const base = block.data();
    const std::size_t size = block.size();
    const __m128i quote = _mm_set1_epi8('"');
    std::uint64_t quotes = 0;
    for (std::size_t chunk = 0; chunk < size; chunk += 16) {
        const std::size_t at = std::min(chunk, size - 16);  // the last load may overlap
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + at));
        quotes |= static_cast<std::uint64_t>(
                      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote))))
                  << at;
    }
    return quotes;
}

}  // namespace mgw::exposition::detail

#endif
