// The `external_exporters` section of the gateway's configuration: Promfetcher's exporters,
// fetched once per app answer. Read here, beside the source that fetches them, so that an
// exporter key is added in this module only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mgw/core/tag_template.hpp>

namespace mgw::apps {

// One query parameter an external exporter is asked with: every value is a template over the
// app's tags (Promfetcher's `params: { "source_id[]": ["{{.AppID}}"] }`).
struct external_exporter_param {
    std::string key;
    std::vector<core::tag_template> values;
};

// Promfetcher's `external_exporters[]`: an exporter fetched once per app in every
// /v1|v2/apps/.../metrics answer (not in /only-app-metrics), its series labelled with the app.
struct external_exporter_config {
    std::string name;          // default: host + metrics_path
    std::string host;          // as configured, "host" or "host:port": Host header and `instance`
    std::string address_host;  // `host` without port or IPv6 brackets, as dialled
    std::uint16_t port = 80;   // from `host`, else 80 (http) or 443 (https)
    bool tls = false;          // scheme https
    std::string metrics_path = "/metrics";        // path, optionally with a query
    std::vector<external_exporter_param> params;  // in key order, keys unique
};

// The most exporters a config may name: every app answer fetches each of them.
inline constexpr std::size_t max_external_exporters = 32;

// Reads the sequence `node` found at `path` (absent or null: none). Checks hosts, paths,
// parameter templates and that names are unique. Throws core::config_error naming the key's
// path ("external_exporters[1].params.x[0]").
std::vector<external_exporter_config> read_external_exporters_config(const YAML::Node& node,
                                                                     const std::string& path);

}  // namespace mgw::apps
