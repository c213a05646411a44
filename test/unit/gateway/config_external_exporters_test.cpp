// Config key `external_exporters` (Promfetcher's): defaults, every field, templates parsed at
// load, and each validation error with its key path.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <mgw/gateway/config.hpp>

#include "config_test_support.hpp"

using mgw::apps::external_exporter_config;
using mgw::gateway::load_config;

namespace {

using mgw::gateway::test::error_of;

external_exporter_config only_exporter(const std::string& yaml) {
    const auto config = load_config(yaml);
    REQUIRE(config.external_exporters.size() == 1);
    return config.external_exporters.front();
}

}  // namespace

TEST_CASE("external_exporters: none by default") {
    CHECK(mgw::gateway::default_config().external_exporters.empty());
    CHECK(load_config("external_exporters: []").external_exporters.empty());
    CHECK(load_config("external_exporters:").external_exporters.empty());
}

TEST_CASE("external_exporters: only host is required, the rest has Promfetcher's defaults") {
    const auto e = only_exporter("external_exporters: [ { host: exporter.internal } ]");
    CHECK(e.host == "exporter.internal");
    CHECK(e.address_host == "exporter.internal");
    CHECK(e.port == 80);
    CHECK_FALSE(e.tls);
    CHECK(e.metrics_path == "/metrics");
    CHECK(e.name == "exporter.internal/metrics");  // host + metrics_path
    CHECK(e.params.empty());

    const auto https = only_exporter(
        "external_exporters: [ { host: exporter.internal, scheme: https, metrics_path: '' } ]");
    CHECK(https.tls);
    CHECK(https.port == 443);
    CHECK(https.metrics_path == "/metrics");
}

TEST_CASE("external_exporters: every field") {
    const auto e = only_exporter(R"(
external_exporters:
  - name: container-metrics
    host: 10.0.16.20:9100
    scheme: http
    metrics_path: /v1/metrics?format=text
    params:
      "source_id[]": ["{{.AppID}}", "{{ .SourceID }}"]
      app: ["{{.OrganizationName}}/{{.SpaceName}}/{{.AppName}}"]
      fixed: [literal]
      none: []
)");
    CHECK(e.name == "container-metrics");
    CHECK(e.host == "10.0.16.20:9100");
    CHECK(e.address_host == "10.0.16.20");
    CHECK(e.port == 9100);
    CHECK(e.metrics_path == "/v1/metrics?format=text");
    // Sorted by key, as Go's url.Values.Encode writes them.
    REQUIRE(e.params.size() == 4);
    CHECK(e.params[0].key == "app");
    CHECK(e.params[1].key == "fixed");
    CHECK(e.params[2].key == "none");
    CHECK(e.params[3].key == "source_id[]");
    REQUIRE(e.params[3].values.size() == 2);
    CHECK(e.params[3].values[0].source() == "{{.AppID}}");
    CHECK(e.params[3].values[1].fields() ==
          std::vector<mgw::core::tag_field>{mgw::core::tag_field::source_id});
    CHECK(e.params[1].values[0].fields().empty());
    CHECK(e.params[2].values.empty());
}

TEST_CASE("external_exporters: IPv6 hosts in brackets, with or without a port") {
    const auto with_port = only_exporter("external_exporters: [ { host: '[::1]:9100' } ]");
    CHECK(with_port.address_host == "::1");
    CHECK(with_port.port == 9100);
    CHECK(with_port.host == "[::1]:9100");
    const auto without =
        only_exporter("external_exporters: [ { host: '[fd00::5]', scheme: https } ]");
    CHECK(without.address_host == "fd00::5");
    CHECK(without.port == 443);
}

TEST_CASE("external_exporters: a bad template stops the gateway with the value's path") {
    CHECK(error_of(
              R"(external_exporters: [ { host: h, params: { "source_id[]": ["{{.AppId}}"] } } ])")
              .starts_with("external_exporters[0].params.source_id[][0]: \"{{.AppId}}\": unknown "
                           "field AppId (the fields are ProcessType,"));
    CHECK(error_of("external_exporters: [ { host: h, params: { a: [x, '{{.AppID'] } } ]") ==
          "external_exporters[0].params.a[1]: unclosed action in \"{{.AppID\"");
    CHECK(error_of("external_exporters: [ { host: h, params: { a: ['{{.AppID | html}}'] } } ]") ==
          "external_exporters[0].params.a[0]: \"{{.AppID | html}}\": only field references such "
          "as {{.AppID}} and comments are supported");
}

TEST_CASE("external_exporters: every validation error names its key") {
    CHECK(error_of("external_exporters: { host: h }") == "external_exporters: expected a sequence");
    CHECK(error_of("external_exporters: [ h ]") == "external_exporters[0]: expected a mapping");
    CHECK(error_of("external_exporters: [ ~ ]") == "external_exporters[0]: expected a mapping");
    CHECK(error_of("external_exporters: [ { name: x } ]") ==
          "external_exporters[0].host: required");
    CHECK(error_of("external_exporters: [ { host: h, port: 1 } ]") ==
          "external_exporters[0].port: unknown key");
    CHECK(error_of("external_exporters: [ { host: h, scheme: ftp } ]") ==
          "external_exporters[0].scheme: invalid value \"ftp\" (expected http or https)");
    CHECK(error_of("external_exporters: [ { host: 'http://h:9100' } ]") ==
          "external_exporters[0].host: invalid host \"http://h:9100\": give the scheme in scheme, "
          "not in host");
    CHECK(error_of("external_exporters: [ { host: 'h:9100/metrics' } ]") ==
          "external_exporters[0].host: invalid host \"h:9100/metrics\": expected host or "
          "host:port");
    CHECK(error_of("external_exporters: [ { host: 'user@h' } ]") ==
          "external_exporters[0].host: invalid host \"user@h\": expected host or host:port");
    CHECK(error_of("external_exporters: [ { host: 'h:0' } ]") ==
          "external_exporters[0].host: invalid host \"h:0\": the port must be between 1 and 65535");
    CHECK(error_of("external_exporters: [ { host: 'h:70000' } ]") ==
          "external_exporters[0].host: invalid host \"h:70000\": expected host or host:port");
    CHECK(error_of("external_exporters: [ { host: ':9100' } ]") ==
          "external_exporters[0].host: invalid host \":9100\": expected host or host:port");
    CHECK(error_of("external_exporters: [ { host: '::1' } ]") ==
          "external_exporters[0].host: invalid host \"::1\": an IPv6 address goes in brackets: "
          "[::1]:9100");
    CHECK(error_of("external_exporters: [ { host: '[::1' } ]") ==
          "external_exporters[0].host: invalid host \"[::1\": expected [ipv6] or [ipv6]:port");
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: metrics } ]") ==
          "external_exporters[0].metrics_path: invalid metrics_path \"metrics\": expected a path "
          "starting with a single /");
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: //other/metrics } ]") ==
          "external_exporters[0].metrics_path: invalid metrics_path \"//other/metrics\": expected "
          "a path starting with a single /");
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: '/a b' } ]") ==
          "external_exporters[0].metrics_path: invalid metrics_path \"/a b\": spaces, control "
          "characters, non-ASCII bytes and # are not allowed (escape them as %XX)");
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: '/m#x' } ]")
              .ends_with("# are not allowed (escape them as %XX)"));
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: '/m?a=%zz' } ]") ==
          "external_exporters[0].metrics_path: invalid metrics_path \"/m?a=%zz\": % must start an "
          "escape such as %2F");
    CHECK(error_of("external_exporters: [ { host: h, metrics_path: '/m?a=1;b=2' } ]") ==
          "external_exporters[0].metrics_path: invalid metrics_path \"/m?a=1;b=2\": separate query "
          "parameters with &, not ;");
    CHECK(error_of("external_exporters: [ { host: h, params: [a] } ]") ==
          "external_exporters[0].params: expected a mapping of query parameter to a list of "
          "values");
    CHECK(error_of("external_exporters: [ { host: h, params: { a: x } } ]") ==
          "external_exporters[0].params.a: expected a sequence of strings");
    CHECK(error_of("external_exporters: [ { host: h, params: { a: [[x]] } } ]") ==
          "external_exporters[0].params.a[0]: expected a string");
    CHECK(error_of("external_exporters: [ { host: h, params: { '': [x] } } ]") ==
          "external_exporters[0].params: a parameter name must not be empty");
    CHECK(error_of("external_exporters: [ { host: a }, { host: b, name: a/metrics } ]") ==
          "external_exporters[1].name: name \"a/metrics\" used twice");
    CHECK(error_of("external_exporters: [ { host: h, name: " + std::string(257, 'n') + " } ]") ==
          "external_exporters[0].name: at most 256 bytes");
}

TEST_CASE("external_exporters: the number of exporters and params is bounded") {
    std::string yaml = "external_exporters:\n";
    for (int i = 0; i < 32; ++i) {
        yaml += "  - { host: h" + std::to_string(i) + " }\n";
    }
    CHECK(load_config(yaml).external_exporters.size() == 32);
    yaml += "  - { host: one-too-many }\n";
    CHECK(error_of(yaml) == "external_exporters: at most 32 exporters, got 33");

    std::string params = "external_exporters: [ { host: h, params: {";
    for (int i = 0; i < 65; ++i) {
        params += (i == 0 ? " p" : ", p") + std::to_string(i) + ": [x]";
    }
    params += " } } ]";
    CHECK(error_of(params) == "external_exporters[0].params: at most 64 parameters");
}

TEST_CASE("config/gateway.yml: external_exporters as the defaults, and its example loads") {
    std::ifstream in(MGW_SOURCE_DIR "/config/gateway.yml");
    std::stringstream text;
    text << in.rdbuf();
    const auto file = load_config(text.str());
    CHECK(file.external_exporters.size() ==
          mgw::gateway::default_config().external_exporters.size());

    // The commented example right under the key, uncommented.
    std::string line;
    std::string example = "external_exporters:\n";
    bool in_example = false;
    std::istringstream lines(text.str());
    while (std::getline(lines, line)) {
        if (line == "external_exporters: []") {
            in_example = true;
            continue;
        }
        if (in_example && !line.starts_with("# ")) {
            break;
        }
        if (in_example) {
            example += line.substr(2) + "\n";
        }
    }
    const auto exporters = load_config(example).external_exporters;
    REQUIRE(exporters.size() == 1);
    CHECK(exporters[0].name == "container-metrics");
    REQUIRE(exporters[0].params.size() == 1);
    CHECK(exporters[0].params[0].key == "source_id[]");
}
