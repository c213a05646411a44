// Text module: locale-independent ASCII helpers for protocol text (header names, tokens, schemes).
// Header-only and std-only, the bottom of the module graph: every module, the exposition engine
// and the fuzz-only builds included, may use it without linking anything.
#pragma once

#include <cstddef>
#include <string_view>

namespace mgw::text {

constexpr bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

constexpr bool is_ascii_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool is_ascii_hex(char c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 §5.6.2 tchar: the bytes of a token (header names, methods, media types, codings).
constexpr bool is_tchar(char c) {
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return is_ascii_digit(c) || is_ascii_alpha(c);
    }
}

// Lower-cases 'A'-'Z' only; every other byte, UTF-8 included, is returned unchanged.
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive equality, as HTTP field names, tokens and URI schemes compare.
constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

// True when `text` begins with `prefix`, compared as iequals does.
constexpr bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Strips HTTP optional whitespace (RFC 9110 OWS: spaces and horizontal tabs) from both ends.
constexpr std::string_view trim_whitespace(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace mgw::text
