// Entry points of the exposition parser: UTF-8 validation, format dispatch, format detection.
#include "mgw/exposition/parser.hpp"

#include <algorithm>
#include <iterator>
#include <ostream>
#include <stdexcept>
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

class exposition_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.exposition"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_utf8:
                return "the body is not valid UTF-8";
            case errc::syntax_error:
                return "a line does not follow the format's grammar";
            case errc::rule_violation:
                return "the lines break a rule of the format";
            case errc::limit_exceeded:
                return "the body exceeds a parse limit";
            case errc::missing_eof:
                return "the OpenMetrics body does not end with # EOF";
        }
        return "unknown exposition error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const exposition_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const parse_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.message());
}

std::string parse_error::message() const {
    std::string text = std::to_string(line);
    text += ':';
    text += std::to_string(column);
    text += ": ";
    text += reason;
    return text;
}

std::ostream& operator<<(std::ostream& os, const parse_error& error) {
    return os << error.message();
}

std::string_view to_string(leniency_action action) {
    switch (action) {
        case leniency_action::joined:
            return "joined";
        case leniency_action::ignored:
            return "ignored";
        case leniency_action::dropped_family:
            return "dropped_family";
        case leniency_action::dropped_metric:
            return "dropped_metric";
        case leniency_action::dropped_sample:
            return "dropped_sample";
        case leniency_action::repaired:
            return "repaired";
    }
    return "changed";
}

void leniency_report::clear() {
    std::fill(std::begin(counts_), std::end(counts_), 0);
    changes_ = 0;
    samples_dropped_ = 0;
    unrepairable_ = 0;
    notes_.clear();
}

void leniency_report::note(const char* at, leniency_action action, std::string_view reason,
                           std::size_t samples_dropped) {
    ++counts_[static_cast<std::size_t>(action)];
    ++changes_;
    samples_dropped_ += samples_dropped;
    if (notes_.size() < max_notes) {
        notes_.push_back({at, action, reason});
    }
}

void leniency_report::note_unrepairable(const char* at, std::size_t samples_dropped) {
    ++unrepairable_;
    note(at, leniency_action::dropped_family,
         "family the repairs could not make valid (a gap in the rules)", samples_dropped);
}

std::string leniency_report::describe(const leniency_note& note, std::string_view input) {
    std::size_t line = 1;
    std::size_t column = 1;
    if (note.at >= input.data() && note.at <= input.data() + input.size()) {
        const std::string_view before(input.data(),
                                      static_cast<std::size_t>(note.at - input.data()));
        for (const char c : before) {
            line += c == '\n' ? 1 : 0;
        }
        const std::size_t newline = before.rfind('\n');
        column = newline == std::string_view::npos ? before.size() + 1 : before.size() - newline;
    }
    std::string text = std::to_string(line);
    text += ':';
    text += std::to_string(column);
    text += ": ";
    text += to_string(note.action);
    text += ": ";
    text += note.reason;
    return text;
}

namespace {

parse_result parse_any(std::string_view input, format input_format, parsed_exposition& out,
                       const parse_limits& limits, label_storage storage, leniency_report* report) {
    out.clear();
    out.source_format = input_format;
    parse_error error;
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
        error.code = make_error_code(errc::invalid_utf8);
        return error;
    }
    const bool ok = input_format == format::openmetrics
                        ? detail::parse_openmetrics(input, out, error, limits, report)
                        : detail::parse_prometheus(input, out, error, limits, storage, report);
    if (!ok) {
        return error;
    }
    return {};
}

}  // namespace

parse_result parse(std::string_view input, format input_format, parsed_exposition& out,
                   const parse_limits& limits, label_storage storage) {
    return parse_any(input, input_format, out, limits, storage, nullptr);
}

parse_result read_lenient(std::string_view input, format input_format, parsed_exposition& out,
                          leniency_report& report, const parse_limits& limits,
                          label_storage storage) {
    report.clear();
    return parse_any(input, input_format, out, limits, storage, &report);
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
