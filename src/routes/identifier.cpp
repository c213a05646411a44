// Routes module: route key normalisation, UUID recognition and path unescaping.
#include <mgw/core/ascii.hpp>
#include <mgw/routes/identifier.hpp>

namespace mgw::routes {

namespace {

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c - 'A' + 10;
}

bool is_dashed_uuid(std::string_view text) {
    if (text.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? text[i] != '-' : !is_hex(text[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string normalise_uri(std::string_view uri) {
    if (const auto query = uri.find('?'); query != std::string_view::npos) {
        uri = uri.substr(0, query);
    }
    if (!uri.empty() && uri.back() == '/') {
        uri.remove_suffix(1);
    }
    std::string key(uri);
    for (char& c : key) {
        c = core::ascii_lower(c);
    }
    return key;
}

bool is_uuid(std::string_view text) {
    switch (text.size()) {
        case 32:
            for (char c : text) {
                if (!is_hex(c)) {
                    return false;
                }
            }
            return true;
        case 36:
            return is_dashed_uuid(text);
        case 38:
            return text.front() == '{' && text.back() == '}' && is_dashed_uuid(text.substr(1, 36));
        case 45:
            return core::istarts_with(text, "urn:uuid:") && is_dashed_uuid(text.substr(9));
        default:
            return false;
    }
}

std::optional<std::string> path_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
        i += 2;
    }
    return out;
}

}  // namespace mgw::routes
