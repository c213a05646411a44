// Name sanitising: a byte at a time, ASCII only, so that the same raw name always maps to the
// same valid name whatever the locale.
#include "metric_name.hpp"

namespace mgw::push {

namespace {

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string sanitize(std::string_view raw, bool colons_allowed) {
    std::string out;
    out.reserve(raw.size() + 1);
    if (!raw.empty() && is_digit(raw.front())) {
        out.push_back('_');
    }
    for (const char c : raw) {
        const bool valid = is_letter(c) || is_digit(c) || c == '_' || (colons_allowed && c == ':');
        out.push_back(valid ? c : '_');
    }
    return out;
}

}  // namespace

std::string sanitize_metric_name(std::string_view raw) {
    return sanitize(raw, true);
}

std::string sanitize_label_name(std::string_view raw) {
    std::string out = sanitize(raw, false);
    if (out.size() >= 2 && out[0] == '_' && out[1] == '_') {
        out.insert(0, "tag");
    }
    return out;
}

}  // namespace mgw::push
