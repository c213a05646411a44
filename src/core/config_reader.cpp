// The YAML toolkit's reads: each checks one value's type and range and names the key's full
// path in its error, so every module's reader reports misconfiguration the same way.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <mgw/core/config_reader.hpp>
#include <mgw/core/duration.hpp>

namespace mgw::core {

config_error::config_error(std::string path, std::string reason)
    : std::runtime_error(fmt::format("{}: {}", path, reason)),
      path_(std::move(path)),
      reason_(std::move(reason)) {}

std::string config_child_path(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string config_element_path(std::string_view path, std::size_t index) {
    return fmt::format("{}[{}]", path, index);
}

bool config_absent(const YAML::Node& node) {
    return !node.IsDefined() || node.IsNull();
}

const std::string& config_scalar(const YAML::Node& node, const std::string& path,
                                 std::string_view what) {
    if (!node.IsScalar()) {
        throw config_error(path, fmt::format("expected {}", what));
    }
    return node.Scalar();
}

config_section::config_section(const YAML::Node& node, std::string path,
                               std::initializer_list<std::string_view> known)
    : node_(node), path_(std::move(path)) {
    if (!node_.IsDefined() || node_.IsNull()) {
        return;
    }
    if (!node_.IsMap()) {
        throw config_error(display_path(), "expected a mapping");
    }
    std::set<std::string> seen;
    for (const auto& entry : node_) {
        if (!entry.first.IsScalar()) {
            throw config_error(display_path(), "keys must be strings");
        }
        const std::string key = entry.first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            throw config_error(config_child_path(path_, key), "unknown key");
        }
        if (!seen.insert(key).second) {
            throw config_error(config_child_path(path_, key), "duplicate key");
        }
    }
}

YAML::Node config_section::get(std::string_view key) const {
    if (!node_.IsMap()) {
        return YAML::Node{};
    }
    for (const auto& entry : node_) {
        if (entry.first.Scalar() == key) {
            return entry.second;
        }
    }
    return YAML::Node{};
}

void read_string(const config_section& s, std::string_view key, std::string& out) {
    const YAML::Node node = s.get(key);
    if (!config_absent(node)) {
        out = config_scalar(node, s.path_of(key), "a string");
    }
}

void read_bool(const config_section& s, std::string_view key, bool& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    const std::string& text = config_scalar(node, path, "true or false");
    if (!YAML::convert<bool>::decode(node, out)) {
        throw config_error(path, fmt::format("expected true or false, got \"{}\"", text));
    }
}

std::optional<std::uint64_t> read_uint64(const config_section& s, std::string_view key,
                                         std::uint64_t min, std::uint64_t max) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return std::nullopt;
    }
    const std::string path = s.path_of(key);
    const std::string& text = config_scalar(node, path, "an integer");
    std::uint64_t value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    const bool negative = !text.empty() && text.front() == '-';
    const auto result = std::from_chars(negative ? begin + 1 : begin, end, value);
    if (text.empty() || result.ptr != end ||
        (result.ec != std::errc{} && result.ec != std::errc::result_out_of_range)) {
        throw config_error(path, fmt::format("expected an integer, got \"{}\"", text));
    }
    if (negative && value != 0) {
        throw config_error(path, fmt::format("must not be negative, got {}", text));
    }
    if (result.ec == std::errc::result_out_of_range || value < min || value > max) {
        throw config_error(path, fmt::format("must be between {} and {}, got {}", min, max, text));
    }
    return value;
}

void read_byte_size(const config_section& s, std::string_view key, std::uint64_t& out,
                    std::uint64_t min, std::uint64_t max) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    const std::string& text = config_scalar(node, path, "a size in bytes");
    struct unit {
        std::string_view suffix;
        unsigned shift;
    };
    constexpr std::array<unit, 4> units{{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"", 0}}};
    for (const unit& u : units) {
        if (text.size() <= u.suffix.size() || !std::string_view(text).ends_with(u.suffix)) {
            continue;
        }
        const std::string_view digits =
            std::string_view(text).substr(0, text.size() - u.suffix.size());
        std::uint64_t value = 0;
        const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (result.ptr != digits.data() + digits.size() || result.ec != std::errc{}) {
            break;
        }
        if (value > (max >> u.shift) || (value << u.shift) < min) {
            throw config_error(
                path, fmt::format("must be between {} and {} bytes, got {}", min, max, text));
        }
        out = value << u.shift;
        return;
    }
    throw config_error(
        path,
        fmt::format("expected bytes (an integer, or with KiB, MiB or GiB), got \"{}\"", text));
}

void read_duration(const config_section& s, std::string_view key, std::chrono::milliseconds& out,
                   zero_duration zero) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    const std::string& text = config_scalar(node, path, "a duration such as 10s");
    if (text.starts_with('-') && parse_duration(std::string_view(text).substr(1))) {
        throw config_error(path, fmt::format("must not be negative, got {}", text));
    }
    const auto value = parse_duration(text);
    if (!value) {
        throw config_error(
            path, fmt::format("invalid duration \"{}\" (expected e.g. 500ms, 10s, 5m, 1h)", text));
    }
    if (zero == zero_duration::rejected && value->count() == 0) {
        throw config_error(path, fmt::format("must be greater than 0, got {}", text));
    }
    out = *value;
}

listen_address parse_config_address(const std::string& text, const std::string& path) {
    auto address = parse_listen_address(text);
    if (!address) {
        throw config_error(path, fmt::format("invalid address \"{}\" (expected host:port)", text));
    }
    return *address;
}

void read_address(const config_section& s, std::string_view key, listen_address& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    out =
        parse_config_address(config_scalar(node, path, "an address such as 127.0.0.1:8085"), path);
}

void read_optional_address(const config_section& s, std::string_view key,
                           std::optional<listen_address>& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    const std::string& text = config_scalar(node, path, "an address such as 127.0.0.1:8085");
    if (text.empty()) {
        out.reset();
    } else {
        out = parse_config_address(text, path);
    }
}

void read_string_list(const config_section& s, std::string_view key,
                      std::vector<std::string>& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    if (!node.IsSequence()) {
        throw config_error(path, "expected a sequence");
    }
    out.clear();
    for (std::size_t i = 0; i < node.size(); ++i) {
        out.push_back(config_scalar(node[i], config_element_path(path, i), "a string"));
    }
}

void read_string_map(const config_section& s, std::string_view key,
                     std::map<std::string, std::string>& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    const std::string path = s.path_of(key);
    if (!node.IsMap()) {
        throw config_error(path, "expected a mapping");
    }
    out.clear();
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            throw config_error(path, "keys must be strings");
        }
        const std::string entry_path = config_child_path(path, entry.first.Scalar());
        std::string value;
        if (!config_absent(entry.second)) {
            value = config_scalar(entry.second, entry_path, "a string");
        }
        if (!out.emplace(entry.first.Scalar(), std::move(value)).second) {
            throw config_error(entry_path, "duplicate key");
        }
    }
}

void require_together(const config_section& s, std::string_view a_key, const std::string& a,
                      std::string_view b_key, const std::string& b) {
    if (!a.empty() && b.empty()) {
        throw config_error(s.path_of(b_key),
                           fmt::format("required when {} is set", s.path_of(a_key)));
    }
    if (a.empty() && !b.empty()) {
        throw config_error(s.path_of(a_key),
                           fmt::format("required when {} is set", s.path_of(b_key)));
    }
}

void read_server_tls(const YAML::Node& node, const std::string& path, server_tls_config& out) {
    const config_section s(node, path, {"cert_file", "key_file"});
    read_string(s, "cert_file", out.cert_file);
    read_string(s, "key_file", out.key_file);
    require_together(s, "cert_file", out.cert_file, "key_file", out.key_file);
}

void read_client_tls(const YAML::Node& node, const std::string& path, client_tls_config& out) {
    const config_section s(node, path, {"ca_file", "cert_file", "key_file", "skip_verify"});
    read_string(s, "ca_file", out.ca_file);
    read_string(s, "cert_file", out.cert_file);
    read_string(s, "key_file", out.key_file);
    read_bool(s, "skip_verify", out.skip_verify);
    require_together(s, "cert_file", out.cert_file, "key_file", out.key_file);
}

std::optional<YAML::Node> parse_config_document(std::string_view yaml_text,
                                                std::string_view source) {
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        const std::string position = fmt::format("{}:{}", e.mark.line + 1, e.mark.column + 1);
        throw config_error(source.empty() ? position : fmt::format("{}:{}", source, position),
                           e.msg);
    }
    if (documents.size() > 1) {
        throw config_error(source.empty() ? "config" : std::string(source),
                           fmt::format("expected one YAML document, got {}", documents.size()));
    }
    if (documents.empty()) {
        return std::nullopt;
    }
    return documents.front();
}

std::string read_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error(path, fmt::format("cannot read: {}", std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw config_error(path, fmt::format("cannot read: {}", std::strerror(errno)));
    }
    return text.str();
}

}  // namespace mgw::core
