// Routes module: route key normalisation and path unescaping.
#include <mgw/routes/identifier.hpp>
#include <mgw/text/ascii.hpp>

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
        c = text::ascii_lower(c);
    }
    return key;
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
