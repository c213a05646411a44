// The `nats` section of the gateway's configuration, read straight into the client's options:
// a key added to the section is added here and in client_options, nowhere else.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include <mgw/nats/client.hpp>

namespace mgw::nats {

// Reads the section `node` found at `path` (absent or null: the defaults, no servers, so NATS
// off). Keys: servers, user, password, tls {ca_file, cert_file, key_file, skip_verify}. Throws
// core::config_error naming the key's path.
client_options read_nats_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::nats
