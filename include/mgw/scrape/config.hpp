// The `scrape` section of the gateway's configuration: how instances are fetched (timeout,
// concurrency, body limit, TLS) and how their series meet the labels the gateway adds. Read
// here so that a scrape key is added in this module only; the app service and the RSocket
// proxy take their scrape settings from this struct.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mgw/exposition/merger.hpp>
#include <mgw/scrape/scraper.hpp>
#include <mgw/scrape/tls.hpp>

namespace mgw::scrape {

struct scrape_config {
    std::chrono::milliseconds timeout{std::chrono::seconds{10}};
    std::uint32_t max_concurrency = 512;
    std::vector<std::string> forward_headers{"Authorization"};
    std::uint64_t max_body_bytes = std::uint64_t{16} << 20;
    // YAML: exported (rename_exported, like Prometheus with honor_labels: false) or overwrite
    // (Promfetcher's behaviour).
    exposition::collision_policy label_collisions = exposition::collision_policy::rename_exported;
    tls_options tls;

    // The scraper's options: its concurrency and TLS from this section, the rest its defaults.
    scraper_config scraper_options() const;
};

// Reads the section `node` found at `path` (absent or null: the defaults). Throws
// core::config_error naming the key's path ("scrape.forward_headers[1]").
scrape_config read_scrape_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::scrape
