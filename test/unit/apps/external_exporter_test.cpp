// External exporters: the values their templates see, the request target Go's net/url would
// build (expected strings are Go's own output for the same inputs), and the error series.
#include "apps/external_exporter.hpp"

#include <catch2/catch.hpp>

#include <mgw/apps/external_exporter_config.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

using mgw::apps::exporter_request_path;
using mgw::apps::exporter_tag_values;
using mgw::apps::tag_map;
using mgw::core::tag_field;

namespace {

const tag_map shop_tags = {
    {"organization_id", "org-guid"},
    {"space_id", "space-guid"},
    {"app_id", "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f"},
    {"organization_name", "acme"},
    {"space_name", "dev"},
    {"app_name", "shop"},
    {"source_id", "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f"},
    {"process_type", "web"},
    {"process_id", "process-guid"},
    {"process_instance_id", "instance-guid"},
    {"instance_id", "3"},
    {"component", "route-emitter"},
};

// The exporter of a one-exporter config, so its params go through the real config parser.
mgw::apps::external_exporter_config exporter(const std::string& fields) {
    return mgw::apps::read_external_exporters_config(YAML::Load("[ { host: h, " + fields + " } ]"),
                                                     "external_exporters")
        .front();
}

std::string path_for(const std::string& fields, const tag_map& tags = shop_tags) {
    return exporter_request_path(exporter(fields), exporter_tag_values(tags));
}

}  // namespace

TEST_CASE("an exporter's templates see the app, not the instance, as Promfetcher's do") {
    const mgw::core::tag_values values = exporter_tag_values(shop_tags);
    const auto value = [&](tag_field field) { return values[static_cast<std::size_t>(field)]; };
    CHECK(value(tag_field::app_id) == "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f");
    CHECK(value(tag_field::source_id) == "6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f");
    CHECK(value(tag_field::app_name) == "shop");
    CHECK(value(tag_field::space_id) == "space-guid");
    CHECK(value(tag_field::space_name) == "dev");
    CHECK(value(tag_field::organization_id) == "org-guid");
    CHECK(value(tag_field::organization_name) == "acme");
    CHECK(value(tag_field::process_type) == "external_exporter");
    CHECK(value(tag_field::component) == "promfetcher");
    CHECK(value(tag_field::process_id).empty());
    CHECK(value(tag_field::process_instance_id).empty());
    CHECK(value(tag_field::instance_id).empty());
    // Absent tags are empty values (Go prints the zero string).
    const mgw::core::tag_values none = exporter_tag_values({});
    CHECK(none[static_cast<std::size_t>(tag_field::app_id)].empty());
}

TEST_CASE("the request target is the one Go's net/url builds") {
    CHECK(path_for(R"(params: { "source_id[]": ["{{.AppID}}"] })") ==
          "/metrics?source_id%5B%5D=6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f");
    // metrics_path's own query is parsed, a param replaces its key, keys come out sorted.
    CHECK(path_for(R"(metrics_path: "/v1/metrics?format=text&source_id[]=old&a=1&a=2", )"
                   R"(params: { "source_id[]": ["x y", "é/&=+"] })") ==
          "/v1/metrics?a=1&a=2&format=text&source_id%5B%5D=x+y&source_id%5B%5D=%C3%A9%2F%26%3D%2B");
    // Re-encoded even when untouched; an empty part dropped, a bare key gets "=".
    CHECK(path_for(R"(metrics_path: "/m?b=%2F&c=x+y&&d", params: { z: [] })") ==
          "/m?b=%2F&c=x+y&d=");
    // A param with no values removes the key.
    CHECK(path_for(R"(metrics_path: "/m?only=1", params: { only: [] })") == "/m");
    CHECK(path_for(R"x(metrics_path: /m, params: { k: ["~._-!*'()"] })x") ==
          "/m?k=~._-%21%2A%27%28%29");
}

TEST_CASE("without params the configured path is sent as written") {
    CHECK(path_for("metrics_path: \"/m?b=%2f&a=1\"") == "/m?b=%2f&a=1");
    CHECK(path_for("") == "/metrics");
}

TEST_CASE("templates expand per app") {
    const std::string fields =
        R"(params: { app: ["{{.OrganizationName}}/{{.SpaceName}}/{{.AppName}}"], )"
        R"(id: ["{{.AppID}}"], kind: ["{{.ProcessType}}"] })";
    CHECK(path_for(fields) ==
          "/metrics?app=acme%2Fdev%2Fshop&id=6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f&kind=external_"
          "exporter");
    tag_map other = shop_tags;
    other["app_name"] = "cart";
    other["app_id"] = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    CHECK(path_for(fields, other) ==
          "/metrics?app=acme%2Fdev%2Fcart&id=0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9&kind=external_"
          "exporter");
}

TEST_CASE("query escaping is Go's url.QueryEscape") {
    std::string out;
    mgw::apps::append_query_escaped(out, "AZaz09-_.~ /?#[]@!$&'()*+,;=%\x01\xff");
    CHECK(out == "AZaz09-_.~+%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25%01%FF");
}

TEST_CASE("exporter failures are Promfetcher's error family with the app and exporter") {
    const auto container = exporter(R"(name: "container \"metrics\"")");
    auto logs = exporter("");
    logs.host = "logs.internal:9100";
    logs.name = "logs";
    tag_map cart = shop_tags;
    cart["app_name"] = "cart";
    const std::vector<mgw::apps::exporter_failure> failures = {
        {.app_tags = &shop_tags, .exporter = &container, .reason = "timeout"},
        {.app_tags = &cart, .exporter = &logs, .reason = "status_503"},
    };
    const std::string text = mgw::apps::render_exporter_errors(failures);
    CHECK(
        text ==
        "# HELP promfetcher_scrape_external_exporter_error Promfetcher scrap external exporter "
        "error on your instance\n"
        "# TYPE promfetcher_scrape_external_exporter_error gauge\n"
        "promfetcher_scrape_external_exporter_error{organization_id=\"org-guid\",space_id=\"space-"
        "guid\",app_id=\"6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f\",organization_name=\"acme\","
        "space_name=\"dev\",app_name=\"shop\",index=\"\",instance_id=\"\",instance=\"h\","
        "name=\"container \\\"metrics\\\"\",reason=\"timeout\"} 1\n"
        "promfetcher_scrape_external_exporter_error{organization_id=\"org-guid\",space_id=\"space-"
        "guid\",app_id=\"6e3a3f4c-1b2d-4c5e-8f70-1a2b3c4d5e6f\",organization_name=\"acme\","
        "space_name=\"dev\",app_name=\"cart\",index=\"\",instance_id=\"\",instance=\"logs."
        "internal:9100\",name=\"logs\",reason=\"status_503\"} 1\n");
    mgw::exposition::parsed_exposition parsed;
    CHECK(mgw::exposition::parse(text, mgw::exposition::format::prometheus_text, parsed));
    CHECK(parsed.samples.size() == 2);
    CHECK(mgw::apps::render_exporter_errors({}).empty());

    // Built directly as the model, it merges to the bytes of its text parsed again, in every
    // output format, and with the labels the app source injects after it.
    const mgw::apps::contributed_exposition built =
        mgw::apps::exporter_errors_contribution(failures);
    REQUIRE(built.readable());
    CHECK(built.storage_bytes > 0);
    CHECK(built.parsed.samples.size() == 2);
    const std::vector<mgw::exposition::label> injected = {{.name = "source", .value = "x"}};
    for (const auto output :
         {mgw::exposition::format::prometheus_text, mgw::exposition::format::openmetrics}) {
        for (const bool utf8 : {true, false}) {
            const mgw::exposition::writer_options options{.output = output, .utf8_names = utf8};
            const auto merged = [&](const mgw::exposition::parsed_exposition& model) {
                mgw::exposition::merger merger;
                merger.add_source(model, injected);
                return merger.write_all(options);
            };
            CHECK(merged(built.parsed) == merged(parsed));
        }
    }
    CHECK(mgw::apps::exporter_errors_contribution({}).parsed.samples.empty());
}
