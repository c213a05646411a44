// Text module: the one UUID check of the codebase. App GUIDs reach the gateway in request paths,
// push bodies, broker bindings and RSocket SETUP payloads; every place recognises them with the
// forms github.com/google/uuid's Parse accepts (what Promfetcher used) and compares them in one
// canonical spelling. Header-only and std-only, like ascii.hpp, so any module can use it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <mgw/text/ascii.hpp>

namespace mgw::text {

namespace uuid_detail {

// The 32 hex digits of `text` in one of Parse's four forms, dashes and wrapping removed; empty
// when `text` is none of them.
constexpr std::string_view hex_body(std::string_view text, char (&digits)[32]) {
    std::string_view dashed;
    switch (text.size()) {
        case 32:
            for (std::size_t i = 0; i < 32; ++i) {
                if (!is_ascii_hex(text[i])) {
                    return {};
                }
                digits[i] = text[i];
            }
            return {digits, 32};
        case 36:
            dashed = text;
            break;
        case 38:
            if (text.front() != '{' || text.back() != '}') {
                return {};
            }
            dashed = text.substr(1, 36);
            break;
        case 45:
            if (!istarts_with(text, "urn:uuid:")) {
                return {};
            }
            dashed = text.substr(9);
            break;
        default:
            return {};
    }
    std::size_t n = 0;
    for (std::size_t i = 0; i < 36; ++i) {
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position) {
            if (dashed[i] != '-') {
                return {};
            }
        } else if (!is_ascii_hex(dashed[i])) {
            return {};
        } else {
            digits[n++] = dashed[i];
        }
    }
    return {digits, 32};
}

}  // namespace uuid_detail

// True for the four forms google/uuid Parse accepts: 36 characters with dashes at 8, 13, 18 and
// 23; the same in braces (38); "urn:uuid:" in any case followed by the 36 (45); 32 hex digits.
// Hex digits in either case.
constexpr bool is_uuid(std::string_view text) {
    char digits[32] = {};
    return !uuid_detail::hex_body(text, digits).empty();
}

// The canonical spelling of a UUID given in any of those forms: 36 characters, lower case,
// dashed (`a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15`), what Cloud Controller and route-emitter use.
// nullopt when `text` is not a UUID.
inline std::optional<std::string> canonical_uuid(std::string_view text) {
    char digits[32] = {};
    const std::string_view hex = uuid_detail::hex_body(text, digits);
    if (hex.empty()) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out.push_back('-');
        }
        out.push_back(ascii_lower(hex[i]));
    }
    return out;
}

// Whether two app identifiers name the same app: equal canonical UUIDs, or (for identifiers
// that are not UUIDs) equal ignoring ASCII case.
inline bool same_uuid(std::string_view a, std::string_view b) {
    const std::optional<std::string> ca = canonical_uuid(a);
    const std::optional<std::string> cb = canonical_uuid(b);
    if (ca && cb) {
        return *ca == *cb;
    }
    return !ca && !cb && iequals(a, b);
}

}  // namespace mgw::text
