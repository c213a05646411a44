// The two format-specific parser drivers behind mgw::exposition::parse, and the line splitting
// and error positioning they share.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

#include "mgw/exposition/model.hpp"
#include "mgw/exposition/parser.hpp"
#include "parser_lexer.hpp"

namespace mgw::exposition::detail {

// Both expect `out` cleared and `input` already checked to be valid UTF-8. With a `report`
// they read leniently (read_lenient) and note what they changed there.
bool parse_prometheus(std::string_view input, parsed_exposition& out, parse_error& error,
                      const parse_limits& limits, label_storage storage,
                      leniency_report* report = nullptr);
bool parse_openmetrics(std::string_view input, parsed_exposition& out, parse_error& error,
                       const parse_limits& limits, leniency_report* report = nullptr);

// Splits the input into lines without their '\n', bounded by max_line_bytes.
class line_reader {
  public:
    line_reader(std::string_view input, std::size_t max_line_bytes)
        : p_(input.data()), end_(input.data() + input.size()), max_line_(max_line_bytes) {}

    enum class status { line, end, too_long };

    // On status::line, [begin, end) is the next line and `terminated` says whether a '\n'
    // followed it. On status::too_long, `begin` is the start of the offending line.
    status next(const char*& begin, const char*& end, bool& terminated) {
        if (p_ >= end_)
            return status::end;
        ++line_number_;
        begin = p_;
        const auto remaining = static_cast<std::size_t>(end_ - p_);
        // One byte past the limit tells "too long" from "exactly at the limit"; written so
        // that a limit of SIZE_MAX cannot overflow.
        const std::size_t window = remaining > max_line_ ? max_line_ + 1 : remaining;
        const auto* newline = static_cast<const char*>(std::memchr(p_, '\n', window));
        if (newline == nullptr) {
            if (remaining > max_line_)
                return status::too_long;
            end = end_;
            terminated = false;
            p_ = end_;
            return status::line;
        }
        end = newline;
        terminated = true;
        p_ = newline + 1;
        return status::line;
    }

    std::size_t line_number() const { return line_number_; }
    bool at_end() const { return p_ >= end_; }

  private:
    const char* p_;
    const char* end_;
    std::size_t max_line_;
    std::size_t line_number_ = 0;
};

inline bool report(parse_error& error, std::size_t line, const char* line_begin, const char* at,
                   std::string_view reason, errc code) {
    error.line = line;
    error.column = static_cast<std::size_t>(at - line_begin) + 1;
    error.reason = reason;
    error.code = make_error_code(code);
    return false;
}

inline bool report(parse_error& error, std::size_t line, const char* line_begin, const failure& f) {
    return report(error, line, line_begin, f.at, f.reason, f.code);
}

}  // namespace mgw::exposition::detail
