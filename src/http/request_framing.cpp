// Framing checks over Beast's parse: field counts and values, plus a scan of the raw head for
// what Beast accepts silently (obs-fold, control characters).
#include "request_framing.hpp"

#include <cstddef>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <mgw/text/ascii.hpp>

namespace mgw::http {

namespace {

namespace beast_http = boost::beast::http;

using text::is_ascii_alpha;
using text::is_ascii_digit;
using text::is_ascii_hex;
using text::is_tchar;

// RFC 3986 unreserved and sub-delims: what a reg-name may hold besides pct-encoded octets.
bool is_reg_name_char(char c) {
    switch (c) {
        case '-':
        case '.':
        case '_':
        case '~':
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
            return true;
        default:
            return is_ascii_digit(c) || is_ascii_alpha(c);
    }
}

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && is_ows(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_ows(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool valid_pct_encoded(std::string_view text, std::size_t at) {
    return at + 2 < text.size() && is_ascii_hex(text[at + 1]) && is_ascii_hex(text[at + 2]);
}

bool valid_reg_name(std::string_view name) {
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '%') {
            if (!valid_pct_encoded(name, i)) {
                return false;
            }
            i += 2;
        } else if (!is_reg_name_char(name[i])) {
            return false;
        }
    }
    return true;
}

// IPv6address / IPvFuture between the brackets; the exact grammar is left to whoever
// connects to it, what matters here is that nothing else can hide in the field.
bool valid_ip_literal(std::string_view inside) {
    if (inside.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < inside.size(); ++i) {
        const char c = inside[i];
        if (c == '%') {
            if (!valid_pct_encoded(inside, i)) {
                return false;
            }
            i += 2;
        } else if (!is_reg_name_char(c) && c != ':') {
            return false;
        }
    }
    return true;
}

bool valid_port(std::string_view port) {
    for (const char c : port) {
        if (!is_ascii_digit(c)) {
            return false;
        }
    }
    return port.size() <= 5;
}

bool valid_content_length(std::string_view value) {
    value = trim_ows(value);
    if (value.empty()) {
        return false;
    }
    for (const char c : value) {
        if (!is_ascii_digit(c)) {
            return false;
        }
    }
    return true;
}

// What the Transfer-Encoding lines of a request say, all lines taken as one list.
struct transfer_codings {
    std::size_t count = 0;    // non-empty list elements
    std::size_t chunked = 0;  // how many of them are exactly `chunked`
    bool last_is_chunked = false;
    bool malformed = false;  // an element that is not a transfer-coding
};

void add_codings(std::string_view list, transfer_codings& out) {
    while (true) {
        const std::size_t comma = list.find(',');
        const std::string_view element = trim_ows(list.substr(0, comma));
        if (!element.empty()) {
            ++out.count;
            const std::string_view name = trim_ows(element.substr(0, element.find(';')));
            bool token = !name.empty();
            for (const char c : name) {
                token = token && is_tchar(c);
            }
            out.malformed = out.malformed || !token;
            // Parameters make it another coding: `chunked` has none.
            const bool chunked = boost::beast::iequals(element, "chunked");
            out.chunked += chunked ? 1 : 0;
            out.last_is_chunked = chunked;
        }
        if (comma == std::string_view::npos) {
            return;
        }
        list.remove_prefix(comma + 1);
    }
}

}  // namespace

void raw_head_scanner::scan(std::string_view bytes) {
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (after_line_feed_ && is_ows(c)) {
            acceptable_ = false;
        }
        after_line_feed_ = byte == '\n';
        if ((byte < 0x20 && byte != '\r' && byte != '\n' && byte != '\t') || byte == 0x7f) {
            acceptable_ = false;
        }
    }
}

bool valid_host_field(std::string_view value) {
    value = trim_ows(value);
    if (value.empty()) {
        return true;
    }
    std::string_view host = value;
    std::string_view port;
    if (host.front() == '[') {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return false;
            }
            port = rest.substr(1);
        }
        if (!valid_ip_literal(host.substr(1, close - 1))) {
            return false;
        }
        return valid_port(port);
    }
    const std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    return !host.empty() && valid_reg_name(host) && valid_port(port);
}

framing_verdict check_request_framing(const beast_http::request_header<>& header) {
    const unsigned version = header.version();
    if (version < 10 || version > 19) {
        return framing_verdict::version_not_supported;
    }
    std::size_t hosts = 0;
    std::size_t lengths = 0;
    std::size_t authorizations = 0;
    std::size_t transfer_encodings = 0;
    transfer_codings codings;
    for (const auto& field : header) {
        switch (field.name()) {
            case beast_http::field::host:
                ++hosts;
                if (!valid_host_field(field.value())) {
                    return framing_verdict::bad_request;
                }
                break;
            case beast_http::field::content_length:
                ++lengths;
                if (!valid_content_length(field.value())) {
                    return framing_verdict::bad_request;
                }
                break;
            case beast_http::field::transfer_encoding:
                ++transfer_encodings;
                add_codings(field.value(), codings);
                break;
            case beast_http::field::authorization:
                ++authorizations;
                break;
            default:
                break;
        }
    }
    if (hosts > 1 || (version >= 11 && hosts == 0) || lengths > 1 || authorizations > 1) {
        return framing_verdict::bad_request;
    }
    if (transfer_encodings == 0) {
        return framing_verdict::ok;
    }
    if (version < 11 || lengths > 0 || codings.count == 0 || codings.malformed ||
        !codings.last_is_chunked || codings.chunked > 1) {
        return framing_verdict::bad_request;
    }
    if (codings.count > 1) {
        return framing_verdict::not_implemented;
    }
    return framing_verdict::ok;
}

}  // namespace mgw::http
