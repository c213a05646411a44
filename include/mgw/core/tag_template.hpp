// Templates over an app's route tags, as Promfetcher's `external_exporters[].params` values use
// them (`source_id[]: ["{{.AppID}}"]`): the subset of Go's text/template that such a value can
// meaningfully hold, parsed once when the config is loaded so that a typo stops the gateway at
// start instead of failing every scrape.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::core {

// Why a template was refused, as an error_code of the category "mgw.core" (docs/DEVELOPING.md,
// "Errors").
enum class errc {
    unclosed_comment = 1,  // `{{/*` without `*/}}`
    unclosed_action,       // `{{` without `}}`
    unsupported_action,    // anything but a field reference or a comment
    unknown_field,         // `{{.Foo}}` where the tags have no Foo
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace mgw::core

template <>
struct boost::system::is_error_code_enum<mgw::core::errc> : std::true_type {};

namespace mgw::core {

// `message` says what is wrong and where, quoting the template.
struct template_error {
    boost::system::error_code code;
    std::string message;
};

// Lets result<T, template_error>::value() throw when misused; parse itself never throws.
[[noreturn]] void throw_exception_from_error(const template_error& error,
                                             const boost::source_location& location);

// The fields of Promfetcher's `models.Tags`, the struct its templates run against, in its
// declaration order. Each comes from the route-emitter tag of the same meaning.
enum class tag_field : std::uint8_t {
    process_type,
    process_instance_id,
    component,
    instance_id,
    space_name,
    organization_id,
    process_id,
    organization_name,
    source_id,
    app_id,
    app_name,
    space_id,
};

inline constexpr std::size_t tag_field_count = 12;

// "ProcessType", "AppID", ...: the name a template writes after the dot.
std::string_view go_field_name(tag_field field);
// "process_type", "app_id", ...: the route-emitter tag it is read from.
std::string_view tag_key(tag_field field);
// The field a Go name designates (exact, case-sensitive), or nullopt.
std::optional<tag_field> parse_go_field_name(std::string_view name);

// One value of every field, indexed by tag_field.
using tag_values = std::array<std::string_view, tag_field_count>;

// A parsed value. Without `{{` a value is taken literally, as Promfetcher does (it only parses
// values containing `{{`). Otherwise it is Go text/template syntax restricted to what can be
// evaluated against a struct of strings without functions: field references `{{.AppID}}`
// (spaces allowed inside the braces), comments `{{/* ... */}}`, and the trim markers `{{- `
// and ` -}}`, which remove the whitespace (space, tab, CR, LF) of the adjacent text as Go
// does. Anything else (`{{.}}`, pipelines, functions, `if`, variables) is refused with the
// reason, as is a field the struct does not have (Promfetcher fails such a template on every
// scrape; here it never starts).
class tag_template {
  public:
    using parse_result = boost::system::result<tag_template, template_error>;

    // The parsed template, or what is wrong and where.
    static parse_result parse(std::string_view text);

    // The text with every field replaced by its value.
    std::string expand(const tag_values& values) const;

    // The text as configured.
    const std::string& source() const { return source_; }
    // The fields it references, in order (repeats kept).
    std::vector<tag_field> fields() const;

  private:
    struct piece {
        std::string text;                // literal text, already trimmed by the markers
        std::optional<tag_field> field;  // then this field's value, when set
    };

    std::string source_;
    std::vector<piece> pieces_;
};

}  // namespace mgw::core
