// UTF-8 validation with an ASCII fast path (64 bytes at a time with SSE2, else eight): scrape
// bodies are almost entirely ASCII, so the per-byte decoder only runs around the rare
// multi-byte sequences.
#include "parser_utf8.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mgw::exposition::detail {
namespace {

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

// Length of the valid sequence starting at p, or 0 when it is invalid.
std::size_t sequence_length(const unsigned char* p, const unsigned char* end) {
    const unsigned char lead = *p;
    const auto available = static_cast<std::size_t>(end - p);
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        return available >= 2 && is_continuation(p[1]) ? 2 : 0;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (available < 3 || !is_continuation(p[1]) || !is_continuation(p[2])) {
            return 0;
        }
        if (lead == 0xE0 && p[1] < 0xA0) {
            return 0;  // overlong
        }
        if (lead == 0xED && p[1] >= 0xA0) {
            return 0;  // UTF-16 surrogate
        }
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (available < 4 || !is_continuation(p[1]) || !is_continuation(p[2]) ||
            !is_continuation(p[3])) {
            return 0;
        }
        if (lead == 0xF0 && p[1] < 0x90) {
            return 0;  // overlong
        }
        if (lead == 0xF4 && p[1] >= 0x90) {
            return 0;  // above U+10FFFF
        }
        return 4;
    }
    return 0;
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view text) {
    const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
    const auto* const end = begin + text.size();
    const auto* p = begin;
    while (p < end) {
#if defined(__SSE2__)
        // Four 16-byte loads OR'd: one test per 64 bytes of ASCII, where the word loop below
        // takes eight.
        while (end - p >= 64) {
            const auto* v = reinterpret_cast<const __m128i*>(p);
            const __m128i any =
                _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                             _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
            if (_mm_movemask_epi8(any) != 0) {
                break;
            }
            p += 64;
        }
#endif
        while (end - p >= 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, p, sizeof word);
            if ((word & high_bits) != 0) {
                break;
            }
            p += 8;
        }
        if (p >= end) {
            break;
        }
        if (*p < 0x80) {
            ++p;
            continue;
        }
        const std::size_t length = sequence_length(p, end);
        if (length == 0) {
            return static_cast<std::size_t>(p - begin);
        }
        p += length;
    }
    return text.size();
}

std::size_t count_code_points(std::string_view text) {
    std::size_t count = 0;
    for (const char c : text) {
        if (!is_continuation(static_cast<unsigned char>(c))) {
            ++count;
        }
    }
    return count;
}

}  // namespace mgw::exposition::detail
