// Reads the `external_exporters` section with the core YAML toolkit. Hosts and paths are
// checked here, at startup, as they go on the request line as written.
#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include <mgw/apps/external_exporter_config.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/config_reader.hpp>

namespace mgw::apps {

using core::config_absent;
using core::config_child_path;
using core::config_element_path;
using core::config_error;
using core::config_scalar;
using core::config_section;
using core::read_string;

namespace {

// An external exporter's `host`: "name", "name:port", "[v6]" or "[v6]:port", as Promfetcher puts
// it after the scheme in the URL. Sets address_host and port (the scheme's default when absent).
void parse_exporter_host(external_exporter_config& out, const std::string& path) {
    const std::string& host = out.host;
    const auto invalid = [&](std::string_view why) {
        return config_error(path, fmt::format("invalid host \"{}\": {}", host, why));
    };
    if (host.find("://") != std::string::npos) {
        throw invalid("give the scheme in scheme, not in host");
    }
    for (const char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f ||
            std::string_view("/?#@\\\"").find(c) != std::string_view::npos) {
            throw invalid("expected host or host:port");
        }
    }
    const std::uint16_t default_port = out.tls ? 443 : 80;
    const bool bracketed = host.starts_with('[');
    const std::size_t colons = static_cast<std::size_t>(std::count(host.begin(), host.end(), ':'));
    const bool has_port = bracketed ? host.find("]:") != std::string::npos : colons == 1;
    if (!bracketed && colons > 1) {
        throw invalid("an IPv6 address goes in brackets: [::1]:9100");
    }
    if (!has_port) {
        if (bracketed && !host.ends_with(']')) {
            throw invalid("expected [ipv6] or [ipv6]:port");
        }
        out.address_host = bracketed ? host.substr(1, host.size() - 2) : host;
        out.port = default_port;
    } else {
        const auto address = core::parse_listen_address(host);
        if (!address || address->host.empty()) {
            throw invalid("expected host or host:port");
        }
        if (address->port == 0) {
            throw invalid("the port must be between 1 and 65535");
        }
        out.address_host = address->host;
        out.port = address->port;
    }
    if (out.address_host.empty()) {
        throw invalid("expected host or host:port");
    }
}

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The path (and query) goes on the request line as written: visible ASCII only, well-formed
// %-escapes, no fragment. `;` in the query is refused because Go's query parser drops such
// pairs without a word; here the operator is told.
void check_exporter_path(const std::string& metrics_path, const std::string& path) {
    const auto invalid = [&](std::string_view why) {
        return config_error(path,
                            fmt::format("invalid metrics_path \"{}\": {}", metrics_path, why));
    };
    if (!metrics_path.starts_with('/') || metrics_path.starts_with("//")) {
        throw invalid("expected a path starting with a single /");
    }
    const std::size_t query = metrics_path.find('?');
    for (std::size_t i = 0; i < metrics_path.size(); ++i) {
        const char c = metrics_path[i];
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#') {
            throw invalid(
                "spaces, control characters, non-ASCII bytes and # are not allowed "
                "(escape them as %XX)");
        }
        if (c == '%' && (i + 2 >= metrics_path.size() || !is_hex_digit(metrics_path[i + 1]) ||
                         !is_hex_digit(metrics_path[i + 2]))) {
            throw invalid("% must start an escape such as %2F");
        }
        if (c == ';' && query != std::string::npos && i > query) {
            throw invalid("separate query parameters with &, not ;");
        }
    }
}

constexpr std::size_t max_exporter_params = 64;
constexpr std::size_t max_exporter_param_values = 64;
constexpr std::size_t max_exporter_name_bytes = 256;

std::vector<external_exporter_param> read_exporter_params(const config_section& s) {
    std::vector<external_exporter_param> params;
    const YAML::Node node = s.get("params");
    if (config_absent(node)) {
        return params;
    }
    const std::string path = s.path_of("params");
    if (!node.IsMap()) {
        throw config_error(path, "expected a mapping of query parameter to a list of values");
    }
    if (node.size() > max_exporter_params) {
        throw config_error(path, fmt::format("at most {} parameters", max_exporter_params));
    }
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            throw config_error(path, "keys must be strings");
        }
        external_exporter_param param;
        param.key = entry.first.Scalar();
        const std::string key_path = config_child_path(path, param.key);
        if (param.key.empty()) {
            throw config_error(path, "a parameter name must not be empty");
        }
        if (std::any_of(params.begin(), params.end(),
                        [&](const external_exporter_param& p) { return p.key == param.key; })) {
            throw config_error(key_path, "duplicate key");
        }
        const YAML::Node values = entry.second;
        if (!config_absent(values)) {
            if (!values.IsSequence()) {
                throw config_error(key_path, "expected a sequence of strings");
            }
            if (values.size() > max_exporter_param_values) {
                throw config_error(key_path,
                                   fmt::format("at most {} values", max_exporter_param_values));
            }
            for (std::size_t i = 0; i < values.size(); ++i) {
                const std::string value_path = config_element_path(key_path, i);
                auto value =
                    core::tag_template::parse(config_scalar(values[i], value_path, "a string"));
                if (value.has_error()) {
                    throw config_error(value_path, std::move(value.error().message));
                }
                param.values.push_back(*std::move(value));
            }
        }
        params.push_back(std::move(param));
    }
    // The order Go's url.Values.Encode writes them in.
    std::sort(params.begin(), params.end(),
              [](const auto& a, const auto& b) { return a.key < b.key; });
    return params;
}

external_exporter_config read_external_exporter(const YAML::Node& node, const std::string& path) {
    if (config_absent(node)) {
        throw config_error(path, "expected a mapping");
    }
    const config_section s(node, path, {"name", "host", "scheme", "metrics_path", "params"});
    external_exporter_config exporter;
    read_string(s, "name", exporter.name);
    read_string(s, "host", exporter.host);
    std::string scheme;
    read_string(s, "scheme", scheme);
    read_string(s, "metrics_path", exporter.metrics_path);
    if (scheme == "https") {
        exporter.tls = true;
    } else if (scheme != "http" && !scheme.empty()) {
        throw config_error(s.path_of("scheme"),
                           fmt::format("invalid value \"{}\" (expected http or https)", scheme));
    }
    if (exporter.host.empty()) {
        throw config_error(s.path_of("host"), "required");
    }
    parse_exporter_host(exporter, s.path_of("host"));
    if (exporter.metrics_path.empty()) {
        exporter.metrics_path = "/metrics";
    }
    check_exporter_path(exporter.metrics_path, s.path_of("metrics_path"));
    if (exporter.name.empty()) {
        exporter.name = exporter.host + exporter.metrics_path;
    }
    if (exporter.name.size() > max_exporter_name_bytes) {
        throw config_error(s.path_of("name"),
                           fmt::format("at most {} bytes", max_exporter_name_bytes));
    }
    exporter.params = read_exporter_params(s);
    return exporter;
}

}  // namespace

std::vector<external_exporter_config> read_external_exporters_config(const YAML::Node& node,
                                                                     const std::string& path) {
    std::vector<external_exporter_config> out;
    if (config_absent(node)) {
        return out;
    }
    if (!node.IsSequence()) {
        throw config_error(path, "expected a sequence");
    }
    if (node.size() > max_external_exporters) {
        throw config_error(
            path, fmt::format("at most {} exporters, got {}", max_external_exporters, node.size()));
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        external_exporter_config exporter =
            read_external_exporter(node[i], config_element_path(path, i));
        // The name is the `name` label of the error series and of the gateway's counter.
        for (const external_exporter_config& earlier : out) {
            if (earlier.name == exporter.name) {
                throw config_error(config_element_path(path, i) + ".name",
                                   fmt::format("name \"{}\" used twice", exporter.name));
            }
        }
        out.push_back(std::move(exporter));
    }
    return out;
}

}  // namespace mgw::apps
