// The YAML toolkit every module reads its own configuration section with: a mapping checked
// against its known keys, typed reads (strings, booleans, bounded integers, byte sizes,
// durations, addresses, lists), TLS file pairs, and config_error naming the key's full path.
// It lives in core so that no module needs another's schema to read its own (each module's
// options and reader are in its own config.hpp; the gateway's config is their aggregate).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mgw/core/address.hpp>

namespace mgw::core {

// Startup misconfiguration. what() is "<path>: <reason>", the path being the key's full
// dotted path ("scrape.timeout", "routes.static[2].port"); YAML syntax errors use
// "<line>:<column>" as the path and file errors the file name.
class config_error : public std::runtime_error {
  public:
    config_error(std::string path, std::string reason);

    const std::string& path() const { return path_; }
    const std::string& reason() const { return reason_; }

  private:
    std::string path_;
    std::string reason_;
};

// "a.b" from ("a", "b"); "b" from ("", "b").
std::string config_child_path(std::string_view path, std::string_view key);
// "a.b[2]" from ("a.b", 2).
std::string config_element_path(std::string_view path, std::size_t index);

// A key with no value, or no key at all.
bool config_absent(const YAML::Node& node);

// The node's text, or config_error(path, "expected <what>") when it is not a scalar.
const std::string& config_scalar(const YAML::Node& node, const std::string& path,
                                 std::string_view what);

// A mapping section: the known keys are checked once, then fields are looked up by name.
// A null node (a key with no value, or "{}" left out) reads as an empty mapping.
class config_section {
  public:
    config_section(const YAML::Node& node, std::string path,
                   std::initializer_list<std::string_view> known);

    const std::string& path() const { return path_; }
    std::string path_of(std::string_view key) const { return config_child_path(path_, key); }

    // The value under `key`, or an undefined/null node when it is absent or empty.
    YAML::Node get(std::string_view key) const;

  private:
    std::string display_path() const { return path_.empty() ? "config" : path_; }

    YAML::Node node_;
    std::string path_;
};

// Each read_* leaves `out` as it is (the default) when the key is absent, and throws
// config_error with the key's path when the value has the wrong type or range.
void read_string(const config_section& s, std::string_view key, std::string& out);
void read_bool(const config_section& s, std::string_view key, bool& out);

// An integer in [min, max]; negative and non-numeric values are errors.
std::optional<std::uint64_t> read_uint64(const config_section& s, std::string_view key,
                                         std::uint64_t min, std::uint64_t max);

template <typename Integer>
void read_uint(const config_section& s, std::string_view key, Integer& out, std::uint64_t min,
               std::uint64_t max) {
    if (const auto value = read_uint64(s, key, min, max)) {
        out = static_cast<Integer>(*value);
    }
}

// An integer number of bytes, or one with a binary unit: 512MiB, 2GiB, 64KiB.
void read_byte_size(const config_section& s, std::string_view key, std::uint64_t& out,
                    std::uint64_t min, std::uint64_t max);

enum class zero_duration { allowed, rejected };

// 500ms, 10s, 5m, 1h.
void read_duration(const config_section& s, std::string_view key, std::chrono::milliseconds& out,
                   zero_duration zero);

// host:port, as parse_listen_address reads it.
listen_address parse_config_address(const std::string& text, const std::string& path);
void read_address(const config_section& s, std::string_view key, listen_address& out);
// An address whose empty value switches the listener off.
void read_optional_address(const config_section& s, std::string_view key,
                           std::optional<listen_address>& out);

void read_string_list(const config_section& s, std::string_view key, std::vector<std::string>& out);
void read_string_map(const config_section& s, std::string_view key,
                     std::map<std::string, std::string>& out);

// Both set or both empty; the error names the missing one.
void require_together(const config_section& s, std::string_view a_key, const std::string& a,
                      std::string_view b_key, const std::string& b);

// A certificate the gateway presents. Both files or neither (TLS off).
struct server_tls_config {
    std::string cert_file;
    std::string key_file;

    bool enabled() const { return !cert_file.empty(); }
};

// How the gateway verifies peers it dials. Empty ca_file: the system trust store. The client
// certificate is optional, but cert_file and key_file come together.
struct client_tls_config {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool skip_verify = false;
};

void read_server_tls(const YAML::Node& node, const std::string& path, server_tls_config& out);
void read_client_tls(const YAML::Node& node, const std::string& path, client_tls_config& out);

// The one YAML document of a configuration text, or nullopt when the text is empty. Throws
// config_error: syntax errors at "<source>:<line>:<column>" (no source: "<line>:<column>"),
// more than one document at `source` ("config" when empty).
std::optional<YAML::Node> parse_config_document(std::string_view yaml_text,
                                                std::string_view source);

// The file's text; config_error(path, "cannot read: ...") when it cannot be read.
std::string read_config_file(const std::string& path);

}  // namespace mgw::core
