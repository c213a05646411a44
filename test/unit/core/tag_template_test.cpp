// Templates of external exporter params: the Go text/template subset, checked against what Go
// itself prints for the same templates (go1.x text/template, run once by hand: the expected
// strings below are its output, or its error for what is refused here too).
#include <string>

#include <catch2/catch.hpp>

#include <mgw/core/tag_template.hpp>

using mgw::core::tag_field;
using mgw::core::tag_template;
using mgw::core::tag_values;

namespace {

// Promfetcher's exporter pseudo-tags for app "shop" in acme/dev.
tag_values exporter_values() {
    tag_values values{};
    const auto set = [&](tag_field field, std::string_view value) {
        values[static_cast<std::size_t>(field)] = value;
    };
    set(tag_field::process_type, "external_exporter");
    set(tag_field::component, "promfetcher");
    set(tag_field::space_name, "dev");
    set(tag_field::organization_id, "org-guid");
    set(tag_field::organization_name, "acme");
    set(tag_field::source_id, "src-guid");
    set(tag_field::app_id, "app-guid");
    set(tag_field::app_name, "shop");
    set(tag_field::space_id, "space-guid");
    return values;
}

std::string expand(std::string_view text) {
    const auto parsed = tag_template::parse(text);
    if (!parsed) {
        return "ERROR " + parsed.error().message;
    }
    return parsed->expand(exporter_values());
}

std::string error_of(std::string_view text) {
    const auto parsed = tag_template::parse(text);
    return parsed ? std::string("parsed") : parsed.error().message;
}

}  // namespace

TEST_CASE("field references expand to the tag values, as Go prints them") {
    CHECK(expand("{{.AppID}}") == "app-guid");
    CHECK(expand("{{ .AppID }}") == "app-guid");
    CHECK(expand("{{.AppID}}{{.SpaceName}}") == "app-guiddev");
    CHECK(expand("source={{.SourceID}}&org={{.OrganizationName}}") == "source=src-guid&org=acme");
    // The exporter's pseudo-tags: no process, no instance.
    CHECK(expand("{{.ProcessID}}|{{.InstanceID}}|{{.ProcessType}}|{{.Component}}|{{.SourceID}}") ==
          "||external_exporter|promfetcher|src-guid");
    CHECK(expand("{{.ProcessInstanceID}}{{.OrganizationID}}/{{.SpaceID}}/{{.AppName}}") ==
          "org-guid/space-guid/shop");
}

TEST_CASE("a value without {{ is literal, whatever else it holds") {
    CHECK(expand("no braces") == "no braces");
    CHECK(expand("a}}b") == "a}}b");
    CHECK(expand("") == "");
    CHECK(expand("{.AppID}") == "{.AppID}");
}

TEST_CASE("trim markers remove the adjacent whitespace, as Go's do") {
    CHECK(expand("x {{- .AppID -}} y") == "xapp-guidy");
    CHECK(expand("{{  .AppName   -}}   z") == "shopz");
    CHECK(expand("{{-  .AppID}}") == "app-guid");
    CHECK(expand("a \t\r\n{{- .AppName}} b") == "ashop b");
    CHECK(expand("{{.AppName -}} \n\t b {{.SpaceName}}") == "shopb dev");
}

TEST_CASE("comments expand to nothing, with or without trim markers") {
    CHECK(expand("{{/* c */}}a") == "a");
    CHECK(expand("{{- /* c */ -}} a") == "a");
    CHECK(expand("x {{/* a {{.AppID}} inside */}}y") == "x y");
}

TEST_CASE("every field of Promfetcher's Tags is known by its Go name and tag") {
    std::size_t count = 0;
    for (const std::string_view name :
         {"ProcessType", "ProcessInstanceID", "Component", "InstanceID", "SpaceName",
          "OrganizationID", "ProcessID", "OrganizationName", "SourceID", "AppID", "AppName",
          "SpaceID"}) {
        const auto field = mgw::core::parse_go_field_name(name);
        REQUIRE(field);
        CHECK(mgw::core::go_field_name(*field) == name);
        ++count;
    }
    CHECK(count == mgw::core::tag_field_count);
    CHECK(mgw::core::tag_key(tag_field::source_id) == "source_id");
    CHECK(mgw::core::tag_key(tag_field::organization_name) == "organization_name");
    CHECK_FALSE(mgw::core::parse_go_field_name("AppId"));
    CHECK_FALSE(mgw::core::parse_go_field_name("app_id"));
}

TEST_CASE("an unknown field is refused at parse time with the fields it could be") {
    // Go parses it and fails every execution ("can't evaluate field AppId").
    CHECK(error_of("{{.AppId}}") ==
          "\"{{.AppId}}\": unknown field AppId (the fields are ProcessType, ProcessInstanceID, "
          "Component, InstanceID, SpaceName, OrganizationID, ProcessID, OrganizationName, "
          "SourceID, AppID, AppName, SpaceID)");
    CHECK(error_of("x{{.app_id}}").starts_with("\"{{.app_id}}\": unknown field app_id"));
}

TEST_CASE("what Go refuses to parse is refused") {
    CHECK(error_of("{{.AppID") == "unclosed action in \"{{.AppID\"");
    CHECK(error_of("{{ ") == "unclosed action in \"{{ \"");
    CHECK(error_of("{{/* x") == "unclosed comment in \"{{/* x\"");
    CHECK(error_of("{{/* x */ }}") == "comment ends before closing delimiter in \"{{/* x */ }}\"");
    const std::string only_fields =
        ": only field references such as {{.AppID}} and comments are supported";
    CHECK(error_of("{{ /* c */ }}") == "\"{{ /* c */ }}\"" + only_fields);
    CHECK(error_of("x {{-.AppID}}") == "\"{{-.AppID}}\"" + only_fields);
    CHECK(error_of("{{.AppID-}}") == "\"{{.AppID-}}\"" + only_fields);
}

TEST_CASE("what Go could run but a tag value cannot need is refused") {
    const std::string only_fields =
        ": only field references such as {{.AppID}} and comments are supported";
    CHECK(error_of("{{.}}") == "\"{{.}}\"" + only_fields);
    CHECK(error_of("{{.AppID | printf \"%s\"}}") == "\"{{.AppID | printf \"%s\"}}\"" + only_fields);
    CHECK(error_of("{{.AppID.X}}") == "\"{{.AppID.X}}\"" + only_fields);
    CHECK(error_of("{{if .AppID}}x{{end}}") == "\"{{if .AppID}}\"" + only_fields);
    CHECK(error_of("{{$x := .AppID}}") == "\"{{$x := .AppID}}\"" + only_fields);
    CHECK(error_of("{{}}") == "\"{{}}\"" + only_fields);
}

TEST_CASE("the source text and the referenced fields are kept") {
    const auto parsed = tag_template::parse("a{{.AppID}}b{{ .SourceID -}} {{.AppID}}");
    REQUIRE(parsed.has_value());
    CHECK(parsed->source() == "a{{.AppID}}b{{ .SourceID -}} {{.AppID}}");
    CHECK(parsed->fields() ==
          std::vector<tag_field>{tag_field::app_id, tag_field::source_id, tag_field::app_id});
    CHECK(parsed->expand(exporter_values()) == "aapp-guidbsrc-guidapp-guid");
}

TEST_CASE("template errors are error codes of the category mgw.core") {
    using mgw::core::errc;
    const auto& category = mgw::core::error_category();
    CHECK(std::string_view(category.name()) == "mgw.core");
    CHECK(category.message(static_cast<int>(errc::unclosed_comment)) ==
          "a template comment is not closed");
    CHECK(category.message(static_cast<int>(errc::unclosed_action)) ==
          "a template action is not closed");
    CHECK(category.message(static_cast<int>(errc::unsupported_action)) ==
          "a template action is not a field reference");
    CHECK(category.message(static_cast<int>(errc::unknown_field)) ==
          "a template names a field the tags do not have");
    CHECK(category.message(0) == "unknown core error");

    const auto code_of = [](std::string_view text) {
        const auto parsed = tag_template::parse(text);
        REQUIRE(parsed.has_error());
        CHECK(&parsed.error().code.category() == &mgw::core::error_category());
        return parsed.error().code;
    };
    CHECK(code_of("{{/* x") == errc::unclosed_comment);
    CHECK(code_of("{{/* x */ }}") == errc::unclosed_comment);
    CHECK(code_of("{{.AppID") == errc::unclosed_action);
    CHECK(code_of("{{ ") == errc::unclosed_action);
    CHECK(code_of("{{.}}") == errc::unsupported_action);
    CHECK(code_of("{{.Nope}}") == errc::unknown_field);
}
