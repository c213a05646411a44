// Exposition number parsing: grammar check plus Clinger's exact fast path, std::from_chars
// (fast_float in libstdc++ 12) for everything else.
#include "parser_number.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>

namespace mgw::exposition::detail {
namespace {

constexpr std::array<double, 23> powers_of_ten = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignore_case(const char* p, const char* end, std::string_view word) {
    if (static_cast<std::size_t>(end - p) != word.size()) {
        return false;
    }
    for (char c : word) {
        if (lower(*p++) != c) {
            return false;
        }
    }
    return true;
}

// Reads the run of digits at q into m (m * 10 + digit each, wrapping past 19 digits as the
// callers allow) and returns its end. Four digits at a time while four bytes remain: a value
// is mostly digits, and this is a quarter of the byte loop's instructions.
const char* read_digits(const char* q, const char* end, std::uint64_t& m) {
    while (end - q >= 4) {
        std::uint32_t w = 0;
        std::memcpy(&w, q, sizeof w);
        // Every byte in '0'..'9': its high nibble is 3, and adding 6 leaves it 3 (a byte
        // that could carry into its neighbour already fails the first test).
        if (((w & 0xF0F0F0F0U) | (((w + 0x06060606U) & 0xF0F0F0F0U) >> 4)) != 0x33333333U) {
            break;
        }
        // Little-endian: the first digit is the low byte. Pairs, then the pair of pairs.
        std::uint32_t v = w - 0x30303030U;
        v = v * 10 + (v >> 8);
        v = ((v & 0x00FF00FFU) * (1U + (100U << 16))) >> 16;
        m = m * 10000 + v;
        q += 4;
    }
    while (q < end && is_digit(*q)) {
        m = m * 10 + static_cast<std::uint64_t>(*q - '0');
        ++q;
    }
    return q;
}

}  // namespace

bool parse_number(std::string_view text, double& out) {
    const char* p = text.data();
    const char* const end = p + text.size();
    if (p == end) {
        return false;
    }
    bool negative = false;
    const bool has_sign = *p == '+' || *p == '-';
    if (has_sign) {
        negative = *p == '-';
        ++p;
        if (p == end) {
            return false;
        }
    }
    const char* const unsigned_start = p;
    if (!is_digit(*p) && *p != '.') {
        if (equals_ignore_case(p, end, "inf") || equals_ignore_case(p, end, "infinity")) {
            out = negative ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
            return true;
        }
        if (!has_sign && equals_ignore_case(p, end, "nan")) {
            out = std::numeric_limits<double>::quiet_NaN();
            return true;
        }
        return false;
    }

    // Significant digits go into `mantissa` while they fit; `exponent10` tracks the scale.
    std::uint64_t mantissa = 0;
    int significant = 0;
    int exponent10 = 0;
    int int_digits = 0;
    int frac_digits = 0;
    // Nearly every value has at most 19 digits, which fit in `mantissa` whatever they are
    // (leading zeros add nothing): they are read in one tight loop per part, and the digit
    // by digit bookkeeping below is only for longer numbers.
    bool read = false;
    {
        std::uint64_t m = 0;
        const char* q = read_digits(p, end, m);
        const auto whole = static_cast<int>(q - p);
        int fraction = 0;
        if (q < end && *q == '.') {
            const char* const first = ++q;
            q = read_digits(q, end, m);
            fraction = static_cast<int>(q - first);
        }
        if (whole + fraction <= 19) {
            mantissa = m;
            significant = whole + fraction;  // an upper bound, which is all that is asked of it
            exponent10 = -fraction;
            int_digits = whole;
            frac_digits = fraction;
            p = q;
            read = true;
        }
    }
    while (!read && p < end && is_digit(*p)) {
        const auto digit = static_cast<std::uint64_t>(*p - '0');
        if (significant > 0 || digit != 0) {
            if (significant < 19) {
                mantissa = mantissa * 10 + digit;
            } else {
                ++exponent10;
            }
            ++significant;
        }
        ++int_digits;
        ++p;
    }
    if (!read && p < end && *p == '.') {
        ++p;
        while (p < end && is_digit(*p)) {
            const auto digit = static_cast<std::uint64_t>(*p - '0');
            if (significant > 0 || digit != 0) {
                if (significant < 19) {
                    mantissa = mantissa * 10 + digit;
                    --exponent10;
                }
                ++significant;
            } else {
                --exponent10;
            }
            ++frac_digits;
            ++p;
        }
    }
    if (int_digits + frac_digits == 0) {
        return false;
    }
    bool exponent_too_long = false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        ++p;
        bool exponent_negative = false;
        if (p < end && (*p == '+' || *p == '-')) {
            exponent_negative = *p == '-';
            ++p;
        }
        if (p == end || !is_digit(*p)) {
            return false;
        }
        int explicit_exponent = 0;
        while (p < end && is_digit(*p)) {
            if (explicit_exponent < 100000) {
                explicit_exponent = explicit_exponent * 10 + (*p - '0');
            } else {
                exponent_too_long = true;
            }
            ++p;
        }
        exponent10 += exponent_negative ? -explicit_exponent : explicit_exponent;
    }
    if (p != end) {
        return false;
    }

    if (mantissa == 0 && !exponent_too_long) {
        out = negative ? -0.0 : 0.0;
        return true;
    }
    // Clinger's fast path: an exactly representable mantissa scaled by an exactly representable
    // power of ten is correctly rounded by one IEEE multiplication or division.
    if (significant <= 19 && !exponent_too_long && mantissa <= (std::uint64_t{1} << 53) &&
        exponent10 >= -22 && exponent10 <= 22) {
        auto value = static_cast<double>(mantissa);
        value = exponent10 < 0 ? value / powers_of_ten[static_cast<std::size_t>(-exponent10)]
                               : value * powers_of_ten[static_cast<std::size_t>(exponent10)];
        out = negative ? -value : value;
        return true;
    }
    if (significant <= 19 && exponent10 == 0 && !exponent_too_long) {
        // Integers up to 19 digits are exact in uint64; one conversion rounds correctly.
        const auto value = static_cast<double>(mantissa);
        out = negative ? -value : value;
        return true;
    }
    double value = 0;
    const auto result = std::from_chars(unsigned_start, end, value, std::chars_format::general);
    if (result.ec == std::errc::result_out_of_range) {
        // Overflow becomes infinity and underflow zero, as strtod and Go's ParseFloat round.
        value = exponent10 > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    } else if (result.ec != std::errc{} || result.ptr != end) {
        return false;
    }
    out = negative ? -value : value;
    return true;
}

bool parse_prometheus_timestamp(std::string_view text, std::int64_t& out) {
    const char* p = text.data();
    const char* const end = p + text.size();
    const bool negative = p < end && *p == '-';
    if (negative) {
        ++p;
    }
    if (p == end) {
        return false;
    }
    std::uint64_t magnitude = 0;
    const std::uint64_t limit =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
    for (; p < end; ++p) {
        if (!is_digit(*p)) {
            return false;
        }
        const auto digit = static_cast<std::uint64_t>(*p - '0');
        if (magnitude > (limit - digit) / 10) {
            return false;
        }
        magnitude = magnitude * 10 + digit;
    }
    out =
        negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
    return true;
}

}  // namespace mgw::exposition::detail
