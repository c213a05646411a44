// Lexing primitives shared by the Prometheus text and OpenMetrics parsers: character classes,
// names, quoted strings and label sets over one line of input. Inline: they are the hot path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mgw/exposition/model.hpp"
#include "mgw/exposition/parser.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mgw::exposition::detail {

enum : std::uint8_t {
    class_metric_start = 1,  // [a-zA-Z_:]
    class_metric_char = 2,   // [a-zA-Z0-9_:]
    class_label_start = 4,   // [a-zA-Z_]
    class_label_char = 8,    // [a-zA-Z0-9_]
    class_digit = 16,        // [0-9]
    class_blank = 32,        // space or tab (Prometheus text separators)
    class_value_end = 64,    // space, tab or `{`: what ends a Prometheus text sample value
};

inline constexpr std::array<std::uint8_t, 256> char_classes = [] {
    std::array<std::uint8_t, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        std::uint8_t bits = 0;
        if (alpha || c == '_' || c == ':')
            bits |= class_metric_start | class_metric_char;
        if (digit)
            bits |= class_metric_char | class_label_char | class_digit;
        if (alpha || c == '_')
            bits |= class_label_start | class_label_char;
        if (c == ' ' || c == '\t')
            bits |= class_blank | class_value_end;
        if (c == '{')
            bits |= class_value_end;
        table[static_cast<std::size_t>(c)] = bits;
    }
    return table;
}();

inline bool has_class(char c, std::uint8_t bits) {
    return (char_classes[static_cast<unsigned char>(c)] & bits) != 0;
}

// The first problem found on a line: where (a pointer into the line), why (static text) and
// the kind of fault (parse_error::code).
struct failure {
    const char* at = nullptr;
    std::string_view reason;
    errc code = errc::syntax_error;
};

inline bool fail(failure& f, const char* at, std::string_view reason,
                 errc code = errc::syntax_error) {
    f.at = at;
    f.reason = reason;
    f.code = code;
    return false;
}

inline const char* skip_blanks(const char* p, const char* end) {
    while (p < end && has_class(*p, class_blank))
        ++p;
    return p;
}

// Returns the first character of a `stop_bits` class at or after p, or `end`.
inline const char* scan_until(const char* p, const char* end, std::uint8_t stop_bits) {
    while (p < end && !has_class(*p, stop_bits))
        ++p;
    return p;
}

// Returns the end of the run of `char_bits` characters starting at p.
inline const char* scan_class(const char* p, const char* end, std::uint8_t char_bits) {
    while (p < end && has_class(*p, char_bits))
        ++p;
    return p;
}

// Returns the end of the run of name characters ([a-zA-Z0-9_], plus ':' for metric names)
// starting at p. Names are most of a body's bytes, so 16 are classified at a time where SSE2
// is available; the loads never pass `end`.
inline const char* scan_name_chars(const char* p, const char* end, bool metric) {
#if defined(__SSE2__)
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i before_a = _mm_set1_epi8('a' - 1);
    const __m128i after_z = _mm_set1_epi8('z' + 1);
    const __m128i before_0 = _mm_set1_epi8('0' - 1);
    const __m128i after_9 = _mm_set1_epi8('9' + 1);
    const __m128i underscore = _mm_set1_epi8('_');
    const __m128i colon = _mm_set1_epi8(metric ? ':' : '_');
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i folded = _mm_or_si128(v, case_bit);
        const __m128i alpha =
            _mm_and_si128(_mm_cmpgt_epi8(folded, before_a), _mm_cmplt_epi8(folded, after_z));
        const __m128i digit =
            _mm_and_si128(_mm_cmpgt_epi8(v, before_0), _mm_cmplt_epi8(v, after_9));
        const __m128i other = _mm_or_si128(_mm_cmpeq_epi8(v, underscore), _mm_cmpeq_epi8(v, colon));
        const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), other));
        if (mask != 0xFFFF)
            return p + __builtin_ctz(static_cast<unsigned>(~mask));
        p += 16;
    }
#endif
    return scan_class(p, end, metric ? class_metric_char : class_label_char);
}

// p is just after an opening quote. Returns the closing quote, or nullptr when the string is
// not terminated on this line. Any backslash escapes the next byte: the parsers keep escapes
// verbatim and only record that there were some.
inline const char* scan_quoted(const char* p, const char* end, bool& has_escapes) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const int mask =
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (mask == 0) {
            p += 16;
            continue;
        }
        p += __builtin_ctz(static_cast<unsigned>(mask));
        if (*p == '"')
            return p;
        has_escapes = true;
        if (end - p < 2)
            return nullptr;
        p += 2;
    }
#endif
    while (p < end) {
        const char c = *p;
        if (c == '"')
            return p;
        if (c == '\\') {
            has_escapes = true;
            if (end - p < 2)
                return nullptr;
            p += 2;
            continue;
        }
        ++p;
    }
    return nullptr;
}

// A metric name at p: a legacy name, or (quoted = true) the contents of a quoted one.
struct name_token {
    std::string_view text;
    bool quoted = false;
    bool has_escapes = false;
};

// Reads a metric name, legacy or quoted, at p. Used for metadata lines.
inline bool read_metric_name(const char*& p, const char* end, name_token& out, failure& f) {
    if (p < end && *p == '"') {
        const char* close = scan_quoted(p + 1, end, out.has_escapes);
        if (close == nullptr)
            return fail(f, p, "unterminated quoted metric name");
        if (close == p + 1)
            return fail(f, p, "empty metric name");
        out.text = std::string_view(p + 1, static_cast<std::size_t>(close - p - 1));
        out.quoted = true;
        p = close + 1;
        return true;
    }
    if (p >= end || !has_class(*p, class_metric_start))
        return fail(f, p, "invalid metric name");
    const char* name_end = scan_name_chars(p + 1, end, true);
    out.text = std::string_view(p, static_cast<std::size_t>(name_end - p));
    out.quoted = false;
    p = name_end;
    return true;
}

// Rejects a label whose name repeats one already in [first, labels.size() - 1).
inline bool check_unique_label(const std::vector<label>& labels, std::size_t first, const char* at,
                               failure& f) {
    const std::size_t last = labels.size() - 1;
    const std::string_view name = labels[last].name;
    for (std::size_t i = first; i < last; ++i) {
        if (labels[i].name == name)
            return fail(f, at, "duplicate label name", errc::rule_violation);
    }
    return true;
}

// Parses a label set; p is just after '{' and ends just after '}'. Labels are appended to
// `labels`. A quoted string in first position that is not followed by '=' is the metric name
// (UTF-8 syntax `{"my.metric", a="b"}`) and is stored in `metric_name` when that is empty;
// `metric_name` = nullptr forbids it (exemplars). OpenMetrics is strict (no blanks, no trailing
// comma); Prometheus text allows blanks around tokens and one trailing comma.
template <bool OpenMetrics>
inline bool parse_label_set(const char*& p, const char* end, std::vector<label>& labels,
                            name_token* metric_name, const parse_limits& limits, failure& f) {
    const std::size_t first = labels.size();
    bool first_item = true;
    for (;;) {
        if constexpr (!OpenMetrics)
            p = skip_blanks(p, end);
        if (p >= end)
            return fail(f, p, "unterminated label set");
        if (*p == '}') {
            if (OpenMetrics && !first_item)
                return fail(f, p, "trailing comma in label set");
            ++p;
            return true;
        }
        label item;
        const char* item_start = p;
        if (*p == '"') {
            bool escapes = false;
            const char* close = scan_quoted(p + 1, end, escapes);
            if (close == nullptr)
                return fail(f, p, "unterminated quoted label name");
            const std::string_view text(p + 1, static_cast<std::size_t>(close - p - 1));
            p = close + 1;
            if constexpr (!OpenMetrics)
                p = skip_blanks(p, end);
            if (p < end && (*p == ',' || *p == '}')) {
                if (!first_item || metric_name == nullptr || !metric_name->text.empty()) {
                    return fail(f, item_start, "metric name given twice or misplaced in label set");
                }
                if (text.empty())
                    return fail(f, item_start, "empty metric name");
                metric_name->text = text;
                metric_name->quoted = true;
                metric_name->has_escapes = escapes;
                first_item = false;
                if (*p == '}') {
                    ++p;
                    return true;
                }
                ++p;
                continue;
            }
            if (text.empty())
                return fail(f, item_start, "empty label name");
            item.name = text;
            item.name_was_quoted = true;
        } else if (has_class(*p, class_label_start)) {
            const char* name_end = scan_name_chars(p + 1, end, false);
            item.name = std::string_view(p, static_cast<std::size_t>(name_end - p));
            p = name_end;
            if constexpr (!OpenMetrics)
                p = skip_blanks(p, end);
        } else {
            return fail(f, p, "invalid label name");
        }
        if (p >= end || *p != '=')
            return fail(f, p, "expected '=' after label name");
        ++p;
        if constexpr (!OpenMetrics)
            p = skip_blanks(p, end);
        if (p >= end || *p != '"')
            return fail(f, p, "expected quoted label value");
        bool escapes = false;
        const char* close = scan_quoted(p + 1, end, escapes);
        if (close == nullptr)
            return fail(f, p, "unterminated label value");
        const auto value_size = static_cast<std::size_t>(close - p - 1);
        if (value_size > limits.max_label_value_bytes) {
            return fail(f, p, "label value longer than the limit", errc::limit_exceeded);
        }
        item.value = std::string_view(p + 1, value_size);
        item.value_has_escapes = escapes;
        p = close + 1;
        if (labels.size() - first >= limits.max_labels_per_sample) {
            return fail(f, item_start, "more labels than the limit", errc::limit_exceeded);
        }
        labels.push_back(item);
        if (!check_unique_label(labels, first, item_start, f))
            return false;
        first_item = false;
        if constexpr (!OpenMetrics)
            p = skip_blanks(p, end);
        if (p >= end)
            return fail(f, p, "unterminated label set");
        if (*p == ',') {
            ++p;
            continue;
        }
        if (*p != '}')
            return fail(f, p, "expected ',' or '}' after label value");
        ++p;
        return true;
    }
}

}  // namespace mgw::exposition::detail
