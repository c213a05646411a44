// The gateway's configuration: one YAML file, every key pinned in DESIGN.md, validated in full at
// startup so that a typo stops the process with the key's path instead of being ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/core/address.hpp>
#include <mgw/core/config_reader.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/tag_template.hpp>

namespace mgw::core {

struct log_config {
    log_level level = log_level::info;
    log_format format = log_format::json;
    bool access = true;  // one line per HTTP request, as gorouter and nginx do by default
};

// Process-wide limits that no single module can enforce alone.
struct limits_config {
    // Ceiling on the resident memory the gateway may reach because of what clients send or ask
    // for (answers in flight, bodies, frames, queues); 0: no ceiling. YAML: bytes, or a number
    // with KiB, MiB or GiB.
    std::uint64_t memory = std::uint64_t{2} << 30;
};

// One query parameter an external exporter is asked with: every value is a template over the
// app's tags (Promfetcher's `params: { "source_id[]": ["{{.AppID}}"] }`).
struct external_exporter_param {
    std::string key;
    std::vector<tag_template> values;
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

// Each section's reader: `node` is the section's value (absent or null: the defaults); what
// is not given keeps its default. Throws config_error naming the key's path.
void read_log(const YAML::Node& node, log_config& out);
void read_external_exporters(const YAML::Node& node, std::vector<external_exporter_config>& out);

}  // namespace mgw::core
