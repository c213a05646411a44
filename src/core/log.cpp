// Structured log lines: JSON (one object per line, RFC 3339 UTC timestamps) or text.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <mgw/core/log.hpp>

namespace mgw::core {

namespace {

// Length of the well-formed UTF-8 sequence (RFC 3629) at the start of `text`, 0 when there is
// none: overlong forms, surrogates and code points past U+10FFFF included.
std::size_t utf8_sequence(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto continuation = [&](std::size_t i) {
        return i < text.size() && (byte(i) & 0xc0) == 0x80;
    };
    const unsigned char lead = byte(0);
    if (lead >= 0xc2 && lead <= 0xdf) {
        return continuation(1) ? 2 : 0;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
        if (!continuation(1) || !continuation(2) || (lead == 0xe0 && byte(1) < 0xa0) ||
            (lead == 0xed && byte(1) > 0x9f)) {
            return 0;
        }
        return 3;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        if (!continuation(1) || !continuation(2) || !continuation(3) ||
            (lead == 0xf0 && byte(1) < 0x90) || (lead == 0xf4 && byte(1) > 0x8f)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

// Values often come from the network (a request path, a header): a line must stay one valid
// UTF-8 JSON line whatever they hold. A byte that is not part of well-formed UTF-8 is written
// as the text `\xHH`, so it is visible without making the line unreadable.
void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence(text.substr(i));
            if (length == 0) {
                // A backslash escaped for JSON: the decoded value reads `\xHH`.
                fmt::format_to(std::back_inserter(out), "\\\\x{:02x}", c);
                ++i;
            } else {
                out.append(text.substr(i, length));
                i += length;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
    out.push_back('"');
}

// True when `text` holds only well-formed UTF-8 and no DEL.
bool clean_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0x7f) {
            return false;
        }
        if (c < 0x80) {
            ++i;
            continue;
        }
        const std::size_t length = utf8_sequence(text.substr(i));
        if (length == 0) {
            return false;
        }
        i += length;
    }
    return true;
}

// Text values are quoted only when a reader could otherwise misread where they end.
void append_text_value(std::string& out, std::string_view text) {
    bool needs_quotes = text.empty() || !clean_utf8(text);
    for (unsigned char c : text) {
        if (c <= ' ' || c == '"' || c == '=' || c == '\\') {
            needs_quotes = true;
            break;
        }
    }
    if (needs_quotes) {
        append_json_string(out, text);
    } else {
        out += text;
    }
}

// A message is left unquoted for readability, but a control character (a newline from an
// error text) must not split the event over two lines.
void append_text_message(std::string& out, std::string_view text) {
    if (!clean_utf8(text)) {
        append_json_string(out, text);
        return;
    }
    for (unsigned char c : text) {
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
}

void append_value(std::string& out, const log_field::value_type& value, log_format format) {
    std::visit(
        [&](const auto& v) {
            using type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<type, std::string_view>) {
                if (format == log_format::json) {
                    append_json_string(out, v);
                } else {
                    append_text_value(out, v);
                }
            } else if constexpr (std::is_same_v<type, bool>) {
                out += v ? "true" : "false";
            } else if constexpr (std::is_same_v<type, double>) {
                if (std::isfinite(v)) {
                    fmt::format_to(std::back_inserter(out), "{}", v);
                } else {
                    out += format == log_format::json ? "null" : fmt::format("{}", v);
                }
            } else {
                fmt::format_to(std::back_inserter(out), "{}", v);
            }
        },
        value);
}

}  // namespace

bool parse_log_level(std::string_view text, log_level& out) {
    if (text == "debug") {
        out = log_level::debug;
    } else if (text == "info") {
        out = log_level::info;
    } else if (text == "warn" || text == "warning") {
        out = log_level::warn;
    } else if (text == "error") {
        out = log_level::error;
    } else {
        return false;
    }
    return true;
}

std::string_view to_string(log_level level) {
    switch (level) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
    }
    return "info";
}

bool parse_log_format(std::string_view text, log_format& out) {
    if (text == "json") {
        out = log_format::json;
    } else if (text == "text") {
        out = log_format::text;
    } else {
        return false;
    }
    return true;
}

std::string_view to_string(log_format format) {
    return format == log_format::text ? "text" : "json";
}

logger::logger(log_level min_level, log_format format, int fd)
    : min_level_(min_level), format_(format), fd_(fd) {}

std::string logger::format_line(log_level level, std::string_view message,
                                log_fields fields) const {
    // fmt 9 prints whole seconds only, so the milliseconds are appended by hand: events of
    // one second stay ordered when lines from several files are merged.
    const auto now_ms =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(now_ms);
    const auto millis = (now_ms - now).count();
    const log_format format = format_.load(std::memory_order_relaxed);
    std::string line;
    line.reserve(128);
    if (format == log_format::json) {
        fmt::format_to(std::back_inserter(line),
                       R"({{"time":"{:%Y-%m-%dT%H:%M:%S}.{:03}Z","level":")", now, millis);
        line += to_string(level);
        line += R"(","msg":)";
        append_json_string(line, message);
        for (const log_field& field : fields) {
            line.push_back(',');
            append_json_string(line, field.key);
            line.push_back(':');
            append_value(line, field.value, format);
        }
        line += "}\n";
    } else {
        fmt::format_to(std::back_inserter(line), "{:%Y-%m-%dT%H:%M:%S}.{:03}Z {:5} ", now, millis,
                       to_string(level));
        append_text_message(line, message);
        for (const log_field& field : fields) {
            line.push_back(' ');
            line += field.key;
            line.push_back('=');
            append_value(line, field.value, format);
        }
        line.push_back('\n');
    }
    return line;
}

void logger::log(log_level level, std::string_view message, log_fields fields) {
    if (!enabled(level)) {
        return;
    }
    const std::string line = format_line(level, message, fields);
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t written = ::write(fd_, rest.data(), rest.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // Logging must never take the gateway down.
        }
        rest.remove_prefix(static_cast<std::size_t>(written));
    }
}

}  // namespace mgw::core
