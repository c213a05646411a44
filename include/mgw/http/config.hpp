// The `http` section of the gateway's configuration: the limits every HTTP listener shares (main
// and health). Read here so that an HTTP server key is added in this module only; a listener's
// server_options are built from it here too.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/core/address.hpp>
#include <mgw/core/config_reader.hpp>
#include <mgw/http/server_options.hpp>

namespace mgw::http {

// Limits of the HTTP server (main listener and health listener alike).
struct http_config {
    std::uint32_t header_limit = 16384;  // bytes of request line + headers
    std::uint64_t body_limit = 1048576;  // bytes of request body
    std::chrono::milliseconds idle_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds request_timeout{std::chrono::seconds{30}};
    std::uint32_t max_connections = 10000;
    std::uint32_t max_pipelined = 16;
    std::uint64_t gzip_min_bytes = 1024;  // smaller responses are sent uncompressed
    // Each write must be taken by the client within this (0: no limit).
    std::chrono::milliseconds write_timeout{std::chrono::seconds{10}};
    std::uint64_t max_pipelined_bytes = 1048576;  // bytes of requests read ahead

    // One listener's options: these limits at `address`, TLS with `tls` (empty: plain), an
    // access log line per request when `access_log` (log.access).
    server_options listener(const core::listen_address& address, const core::server_tls_config& tls,
                            bool access_log) const;
};

// Reads the section `node` found at `path` (absent or null: the defaults). Throws
// core::config_error naming the key's path.
http_config read_http_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::http
