// App GUIDs named by a client: in its SETUP payload or in its metrics' labels.
#include "app_identity.hpp"

#include <cctype>

#include <mgw/text/uuid.hpp>

namespace mgw::rsocket {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// The value after the first `<key><separator>"` in `text`, if it is a GUID.
std::string guid_after(std::string_view text, std::string_view key, std::string_view separator) {
    std::string needle(key);
    needle += separator;
    needle += '"';
    for (std::size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + 1)) {
        // Whole key only: `xapp_id` is not `app_id`.
        const char before = at == 0 ? ' ' : text[at - 1];
        if (std::isalnum(static_cast<unsigned char>(before)) || before == '_') {
            continue;
        }
        if (auto guid = text::canonical_uuid(text.substr(at + needle.size(), 36))) {
            return *std::move(guid);
        }
    }
    return {};
}

}  // namespace

std::string app_guid_in_setup(std::string_view payload) {
    const std::string_view text = trim(payload);
    if (auto guid = text::canonical_uuid(text)) {
        return *std::move(guid);
    }
    for (std::string_view key : {"\"app_id\"", "\"application_id\"", "\"applicationId\""}) {
        for (std::string_view separator : {":", ": "}) {
            if (std::string guid = guid_after(text, key, separator); !guid.empty()) {
                return guid;
            }
        }
    }
    return {};
}

std::string app_guid_in_labels(std::string_view exposition_text) {
    for (std::string_view key : {"app_id", "application_id"}) {
        if (std::string guid = guid_after(exposition_text, key, "="); !guid.empty()) {
            return guid;
        }
    }
    return {};
}

}  // namespace mgw::rsocket
