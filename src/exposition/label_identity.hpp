// When two labels are the same label to a reader of the gateway's output: names as a legacy
// client sees them (a quoted name underscore-escaped, so `"a.b"` and `a_b` coincide) and values
// unescaped as the writer re-escapes them (`\z` and `\\z` both become `\\z`). Used to find
// repeated series and label sets in a lenient read, where a mistake would let the gateway
// write an invalid exposition. Hashes are order-independent (sums), as label sets are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "mgw/exposition/model.hpp"
#include "mgw/exposition/writer.hpp"
#include "same_bytes.hpp"

namespace mgw::exposition::detail {

// A fast 64-bit hash of bytes, eight at a time (not cryptographic: equal hashes are always
// confirmed by comparing the text). A tail shorter than a word is read with fixed-size loads
// (overlapping the last full word, or two 4-byte and three 1-byte reads), never a byte loop.
inline std::uint64_t hash_bytes(std::string_view text, std::uint64_t seed) {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    const char* p = text.data();
    const std::size_t size = text.size();
    std::uint64_t h = seed ^ (size * k);
    const auto mix = [&](std::uint64_t word) {
        h = (h ^ word) * k;
        h ^= h >> 32;
    };
    std::size_t n = size;
    while (n >= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, 8);
        mix(word);
        p += 8;
        n -= 8;
    }
    if (n != 0) {
        std::uint64_t word = 0;
        if (size >= 8) {
            std::memcpy(&word, text.data() + size - 8, 8);
        } else if (n >= 4) {
            std::uint32_t first = 0;
            std::uint32_t last = 0;
            std::memcpy(&first, p, 4);
            std::memcpy(&last, p + n - 4, 4);
            word = (std::uint64_t{first} << 32) | last;
        } else {
            word = (std::uint64_t{static_cast<unsigned char>(p[0])} << 16) |
                   (std::uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
                   static_cast<unsigned char>(p[n - 1]);
        }
        mix(word);
    }
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 29);
}

// The name as a legacy reader sees it; `buffer` holds it when it differs from the raw view.
inline std::string_view canonical_label_name(const label& l, std::string& buffer) {
    if (!l.name_was_quoted) {
        return l.name;  // only legacy names are left unquoted by the parser
    }
    buffer.clear();
    append_escaped_name(buffer, l.name, false, false);
    return buffer;
}

// The value unescaped the way the writer's re-escaping reads it: `\\`, `\"`, `\n` are one
// character, any other backslash is itself.
inline std::string_view canonical_label_value(const label& l, std::string& buffer) {
    if (!l.value_has_escapes) {
        return l.value;
    }
    buffer.clear();
    const std::string_view raw = l.value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '\\' && i + 1 < raw.size()) {
            const char next = raw[i + 1];
            if (next == '\\' || next == '"') {
                buffer += next;
                ++i;
                continue;
            }
            if (next == 'n') {
                buffer += '\n';
                ++i;
                continue;
            }
        }
        buffer += c;
    }
    return buffer;
}

inline std::uint64_t label_name_hash(const label& l) {
    thread_local std::string buffer;
    return hash_bytes(canonical_label_name(l, buffer), 0x51A3);
}

inline std::uint64_t label_hash(const label& l) {
    if (!l.name_was_quoted && !l.value_has_escapes) {
        const std::uint64_t name = hash_bytes(l.name, 0x51A3);  // nearly every label
        return hash_bytes(l.value, name) ^ (name >> 7);
    }
    thread_local std::string name_buffer;
    thread_local std::string value_buffer;
    const std::uint64_t name = hash_bytes(canonical_label_name(l, name_buffer), 0x51A3);
    const std::uint64_t value = hash_bytes(canonical_label_value(l, value_buffer), name);
    return value ^ (name >> 7);
}

inline bool plain(const label& l) {
    return !l.name_was_quoted && !l.value_has_escapes;
}

inline bool same_label_name(const label& a, const label& b) {
    if (!a.name_was_quoted && !b.name_was_quoted) {
        return a.name == b.name;
    }
    thread_local std::string left;
    thread_local std::string right;
    return canonical_label_name(a, left) == canonical_label_name(b, right);
}

inline bool same_label(const label& a, const label& b) {
    if (plain(a) && plain(b)) {
        return a.name == b.name && a.value == b.value;
    }
    thread_local std::string left;
    thread_local std::string right;
    if (canonical_label_name(a, left) != canonical_label_name(b, right)) {
        return false;
    }
    return canonical_label_value(a, left) == canonical_label_value(b, right);
}

// Calls `visit(label)` for each label of `s`, however it is stored.
template <class Visit>
void visit_labels(const parsed_exposition& src, const sample& s, Visit&& visit) {
    if (s.has_raw_labels()) {
        for_each_raw_label(s.raw_labels(), visit);
        return;
    }
    for (std::uint32_t i = s.labels.first; i < s.labels.first + s.labels.count; ++i) {
        visit(src.labels[i]);
    }
}

}  // namespace mgw::exposition::detail
