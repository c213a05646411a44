// Entry points of the exposition parser: UTF-8 validation, format dispatch, format detection.
#include "mgw/exposition/parser.hpp"

#include <string>

#include "parser_formats.hpp"
#include "parser_utf8.hpp"

namespace mgw::exposition {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

std::string parse_error::message() const {
    std::string text = std::to_string(line);
    text += ':';
    text += std::to_string(column);
    text += ": ";
    text += reason;
    return text;
}

bool parse(std::string_view input, format input_format, parsed_exposition& out, parse_error& error,
           const parse_limits& limits, label_storage storage) {
    out.clear();
    out.source_format = input_format;
    error = parse_error{};
    const std::size_t invalid = detail::find_invalid_utf8(input);
    if (invalid != input.size()) {
        const std::string_view before = input.substr(0, invalid);
        const std::size_t last_newline = before.rfind('\n');
        std::size_t line = 1;
        for (const char c : before) {
            line += c == '\n' ? 1 : 0;
        }
        error.line = line;
        error.column =
            last_newline == std::string_view::npos ? invalid + 1 : invalid - last_newline;
        error.reason = "invalid UTF-8";
        return false;
    }
    return input_format == format::openmetrics
               ? detail::parse_openmetrics(input, out, error, limits)
               : detail::parse_prometheus(input, out, error, limits, storage);
}

void append_labels_of(const parsed_exposition& src, const sample& s, std::vector<label>& out) {
    if (s.has_raw_labels()) {
        for_each_raw_label(s.raw_labels(), [&](const label& l) { out.push_back(l); });
        return;
    }
    out.insert(out.end(), src.labels.begin() + s.labels.first,
               src.labels.begin() + s.labels.first + s.labels.count);
}

format format_from_content_type(std::string_view content_type) {
    const std::size_t semicolon = content_type.find(';');
    const std::string_view media_type = trim(content_type.substr(0, semicolon));
    return equals_ignore_case(media_type, "application/openmetrics-text") ? format::openmetrics
                                                                          : format::prometheus_text;
}

format detect_format(std::string_view body) {
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.remove_suffix(1);
    }
    const std::size_t newline = body.rfind('\n');
    const std::string_view last =
        newline == std::string_view::npos ? body : body.substr(newline + 1);
    return last == "# EOF" ? format::openmetrics : format::prometheus_text;
}

}  // namespace mgw::exposition
