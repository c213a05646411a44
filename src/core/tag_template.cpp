// The Go text/template subset of Promfetcher's external exporter params: a hand-written lexer
// that follows Go's (text/template/parse/lex.go) for delimiters, trim markers and comments, and
// accepts one field reference per action.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include <mgw/core/tag_template.hpp>

namespace mgw::core {

namespace {

class core_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.core"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::unclosed_comment:
                return "a template comment is not closed";
            case errc::unclosed_action:
                return "a template action is not closed";
            case errc::unsupported_action:
                return "a template action is not a field reference";
            case errc::unknown_field:
                return "a template names a field the tags do not have";
        }
        return "unknown core error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const core_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const template_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.message);
}

namespace {

struct field_names {
    tag_field field;
    std::string_view go_name;
    std::string_view tag;
};

constexpr std::array<field_names, tag_field_count> fields_table{{
    {tag_field::process_type, "ProcessType", "process_type"},
    {tag_field::process_instance_id, "ProcessInstanceID", "process_instance_id"},
    {tag_field::component, "Component", "component"},
    {tag_field::instance_id, "InstanceID", "instance_id"},
    {tag_field::space_name, "SpaceName", "space_name"},
    {tag_field::organization_id, "OrganizationID", "organization_id"},
    {tag_field::process_id, "ProcessID", "process_id"},
    {tag_field::organization_name, "OrganizationName", "organization_name"},
    {tag_field::source_id, "SourceID", "source_id"},
    {tag_field::app_id, "AppID", "app_id"},
    {tag_field::app_name, "AppName", "app_name"},
    {tag_field::space_id, "SpaceID", "space_id"},
}};

constexpr std::string_view left_delim = "{{";
constexpr std::string_view right_delim = "}}";
constexpr std::string_view comment_open = "/*";
constexpr std::string_view comment_close = "*/";

// Go's template whitespace: what trim markers remove and what may surround a field.
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_left(std::string_view text) {
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    return text;
}

std::string_view trim_right(std::string_view text) {
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// Go identifiers are letters, digits and '_' (Unicode letters too: any non-ASCII byte is taken
// as part of the name, which then names no field).
bool is_identifier_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           u >= 0x80;
}

std::string known_fields() {
    std::string out;
    for (const field_names& f : fields_table) {
        if (!out.empty()) {
            out += ", ";
        }
        out += f.go_name;
    }
    return out;
}

// A right delimiter at `pos`: "}}", or " -}}" (a space then the trim marker). Returns the
// number of bytes it takes, 0 when there is none; `trim` tells which.
std::size_t right_delimiter_at(std::string_view text, std::size_t pos, bool& trim) {
    const std::string_view rest = text.substr(pos);
    if (rest.size() >= 2 + right_delim.size() && is_space(rest[0]) && rest[1] == '-' &&
        rest.substr(2).starts_with(right_delim)) {
        trim = true;
        return 2 + right_delim.size();
    }
    if (rest.starts_with(right_delim)) {
        trim = false;
        return right_delim.size();
    }
    return 0;
}

// The action starting at `open` as written, for messages: up to its "}}" or to the end.
std::string_view action_text(std::string_view text, std::size_t open) {
    const std::size_t close = text.find(right_delim, open + left_delim.size());
    return close == std::string_view::npos ? text.substr(open)
                                           : text.substr(open, close + right_delim.size() - open);
}

}  // namespace

std::string_view go_field_name(tag_field field) {
    return fields_table[static_cast<std::size_t>(field)].go_name;
}

std::string_view tag_key(tag_field field) {
    return fields_table[static_cast<std::size_t>(field)].tag;
}

std::optional<tag_field> parse_go_field_name(std::string_view name) {
    for (const field_names& f : fields_table) {
        if (f.go_name == name) {
            return f.field;
        }
    }
    return std::nullopt;
}

tag_template::parse_result tag_template::parse(std::string_view text) {
    tag_template parsed;
    parsed.source_ = std::string(text);
    if (text.find(left_delim) == std::string_view::npos) {
        parsed.pieces_.push_back({std::string(text), std::nullopt});
        return parsed;
    }

    std::string pending;  // literal text not yet attached to a piece
    bool trim_next_text = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t open = text.find(left_delim, pos);
        std::string_view literal =
            text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
        if (trim_next_text) {
            literal = trim_left(literal);
            trim_next_text = false;
        }
        if (open == std::string_view::npos) {
            pending += literal;
            break;
        }
        pos = open + left_delim.size();
        // "{{- " trims the text before the action: the marker is a dash and one space.
        if (pos + 1 < text.size() && text[pos] == '-' && is_space(text[pos + 1])) {
            literal = trim_right(literal);
            pos += 2;
        }
        pending += literal;

        bool trim = false;
        if (text.substr(pos).starts_with(comment_open)) {
            const std::size_t end = text.find(comment_close, pos + comment_open.size());
            if (end == std::string_view::npos) {
                return template_error{errc::unclosed_comment,
                                      fmt::format("unclosed comment in \"{}\"", text.substr(open))};
            }
            pos = end + comment_close.size();
            const std::size_t delimiter = right_delimiter_at(text, pos, trim);
            if (delimiter == 0) {
                return template_error{errc::unclosed_comment,
                                      fmt::format("comment ends before closing delimiter in \"{}\"",
                                                  action_text(text, open))};
            }
            pos += delimiter;
            trim_next_text = trim;
            continue;
        }

        const auto unsupported = [&] {
            return template_error{
                errc::unsupported_action,
                fmt::format("\"{}\": only field references such as {{{{.AppID}}}} and comments are "
                            "supported",
                            action_text(text, open))};
        };
        while (pos < text.size() && is_space(text[pos])) {
            ++pos;
        }
        if (pos >= text.size()) {
            return template_error{errc::unclosed_action,
                                  fmt::format("unclosed action in \"{}\"", text.substr(open))};
        }
        if (text[pos] != '.') {
            return unsupported();
        }
        const std::size_t name_begin = ++pos;
        while (pos < text.size() && is_identifier_char(text[pos])) {
            ++pos;
        }
        const std::string_view name = text.substr(name_begin, pos - name_begin);
        if (name.empty()) {
            return unsupported();  // `{{.}}` would print the whole struct
        }
        const std::optional<tag_field> field = parse_go_field_name(name);
        if (!field) {
            return template_error{errc::unknown_field,
                                  fmt::format("\"{}\": unknown field {} (the fields are {})",
                                              action_text(text, open), name, known_fields())};
        }
        // Spaces up to the delimiter; the last one may belong to a " -}}" trim marker.
        while (pos < text.size() && is_space(text[pos]) &&
               right_delimiter_at(text, pos, trim) == 0) {
            ++pos;
        }
        const std::size_t delimiter = right_delimiter_at(text, pos, trim);
        if (delimiter == 0) {
            if (text.find(right_delim, pos) == std::string_view::npos) {
                return template_error{errc::unclosed_action,
                                      fmt::format("unclosed action in \"{}\"", text.substr(open))};
            }
            return unsupported();
        }
        pos += delimiter;
        trim_next_text = trim;
        parsed.pieces_.push_back({std::move(pending), field});
        pending.clear();
    }
    if (!pending.empty() || parsed.pieces_.empty()) {
        parsed.pieces_.push_back({std::move(pending), std::nullopt});
    }
    return parsed;
}

std::string tag_template::expand(const tag_values& values) const {
    std::string out;
    for (const piece& p : pieces_) {
        out += p.text;
        if (p.field) {
            out += values[static_cast<std::size_t>(*p.field)];
        }
    }
    return out;
}

std::vector<tag_field> tag_template::fields() const {
    std::vector<tag_field> out;
    for (const piece& p : pieces_) {
        if (p.field) {
            out.push_back(*p.field);
        }
    }
    return out;
}

}  // namespace mgw::core
