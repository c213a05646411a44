// Content negotiation: a strict, allocation-free reader of the Accept header (RFC 9110 media
// ranges with q-weights) that only ever answers with one of the pinned Content-Type constants.
#include <mgw/exposition/content_type.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::exposition {
namespace {

using text::iequals;
using text::is_tchar;
using text::trim_whitespace;

bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

// RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], in thousandths.
bool parse_qvalue(std::string_view s, int& q) {
    if (s.empty() || s.size() > 5 || (s[0] != '0' && s[0] != '1')) {
        return false;
    }
    int value = (s[0] - '0') * 1000;
    if (s.size() > 1) {
        if (s[1] != '.') {
            return false;
        }
        int scale = 100;
        for (std::size_t i = 2; i < s.size(); ++i) {
            if (s[i] < '0' || s[i] > '9') {
                return false;
            }
            value += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (value > 1000) {
        return false;
    }
    q = value;
    return true;
}

// A parameter value: token or quoted-string; the quotes of a quoted-string are removed. A
// quoted-string with a backslash escape is rejected: no parameter we read needs one.
bool parse_param_value(std::string_view s, std::string_view& value) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
        const std::string_view inner = s.substr(1, s.size() - 2);
        for (char c : inner) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\' || (u < 0x20 && c != '\t') || u == 0x7F) {
                return false;
            }
        }
        value = inner;
        return true;
    }
    if (!is_token(s)) {
        return false;
    }
    value = s;
    return true;
}

struct candidate {
    format output;
    std::string_view content_type;
    bool utf8_names;
    int q;
};

// One media range; false when it is malformed or names nothing we can produce.
bool read_range(std::string_view range, candidate& out) {
    std::size_t semi = range.find(';');
    const std::string_view media = trim_whitespace(range.substr(0, semi));
    const std::size_t slash = media.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    const std::string_view type = media.substr(0, slash);
    const std::string_view subtype = media.substr(slash + 1);
    if (!is_token(type) || !is_token(subtype)) {
        return false;
    }
    std::string_view version;
    bool has_version = false;
    std::string_view escaping;
    int q = 1000;
    while (semi != std::string_view::npos) {
        const std::size_t start = semi + 1;
        semi = range.find(';', start);
        const std::string_view param = trim_whitespace(range.substr(start, semi - start));
        const std::size_t eq = param.find('=');
        if (eq == std::string_view::npos) {
            return false;
        }
        const std::string_view name = param.substr(0, eq);
        std::string_view value;
        if (!is_token(name) || !parse_param_value(param.substr(eq + 1), value)) {
            return false;
        }
        if (iequals(name, "q")) {
            if (!parse_qvalue(value, q)) {
                return false;
            }
        } else if (iequals(name, "version")) {
            version = value;
            has_version = true;
        } else if (iequals(name, "charset")) {
            if (!iequals(value, "utf-8")) {
                return false;
            }
        } else if (iequals(name, "escaping")) {
            escaping = value;
        }
    }
    out.q = q;
    out.utf8_names = escaping == "allow-utf-8";
    const bool any_type = type == "*";
    if (any_type && subtype != "*") {
        return false;
    }
    if (iequals(type, "application") && iequals(subtype, "openmetrics-text")) {
        out.output = format::openmetrics;
        if (!has_version || version == "1.0.0") {
            out.content_type = openmetrics_content_type;
            return true;
        }
        if (version == "0.0.1") {
            out.content_type = openmetrics_0_0_1_content_type;
            return true;
        }
        return false;
    }
    if (iequals(type, "text") && iequals(subtype, "plain")) {
        out.output = format::prometheus_text;
        out.content_type = prometheus_text_content_type;
        return !has_version || version == "0.0.4";
    }
    if (subtype == "*" && (any_type || iequals(type, "text"))) {
        out.output = format::prometheus_text;
        out.content_type = prometheus_text_content_type;
        return true;
    }
    if (subtype == "*" && iequals(type, "application")) {
        out.output = format::openmetrics;
        out.content_type = openmetrics_content_type;
        return true;
    }
    return false;
}

}  // namespace

negotiated_format negotiate(std::string_view accept) {
    negotiated_format result;
    if (accept.size() > max_accept_bytes) {
        return result;
    }
    for (char c : accept) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7F) {
            return result;  // CR, LF, NUL...: a smuggling attempt, not a header to interpret
        }
    }
    int best_q = 0;
    std::size_t ranges = 0;
    std::size_t pos = 0;
    while (pos <= accept.size()) {
        std::size_t comma = accept.find(',', pos);
        if (comma == std::string_view::npos) {
            comma = accept.size();
        }
        const std::string_view range = trim_whitespace(accept.substr(pos, comma - pos));
        pos = comma + 1;
        if (range.empty()) {
            continue;  // RFC 9110 list syntax tolerates empty elements
        }
        if (++ranges > max_accept_ranges) {
            return negotiated_format{};
        }
        candidate c{};
        if (read_range(range, c) && c.q > best_q) {
            best_q = c.q;
            result.output = c.output;
            result.content_type = c.content_type;
            result.utf8_names = c.utf8_names;
        }
    }
    return result;
}

std::string_view content_type_for(format output) {
    return output == format::openmetrics ? openmetrics_content_type : prometheus_text_content_type;
}

}  // namespace mgw::exposition
