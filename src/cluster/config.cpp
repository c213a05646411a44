// Reads the `cluster` section with the core YAML toolkit and checks what the subjects need:
// names that are valid NATS subject tokens and chunks that fit in a NATS message.
#include <algorithm>
#include <random>
#include <stdexcept>
#include <unistd.h>

#include <fmt/format.h>

#include <mgw/cluster/config.hpp>
#include <mgw/core/config_reader.hpp>

namespace mgw::cluster {

namespace {

bool subject_char(char c, bool dot_allowed) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
           (byte >= '0' && byte <= '9') || c == '_' || c == '-' || (dot_allowed && c == '.');
}

}  // namespace

bool valid_cluster_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](char c) { return subject_char(c, false); });
}

bool valid_node_id(const std::string& id) {
    if (id.empty() || id.size() > 128 || id.front() == '.' || id.back() == '.' ||
        id.find("..") != std::string::npos) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) { return subject_char(c, true); });
}

std::string new_boot_id() {
    std::random_device random;
    std::uniform_int_distribution<std::uint32_t> word;
    return fmt::format("{:08x}{:08x}", word(random), word(random));
}

std::string cluster_config::resolved_node_id() const {
    if (!node_id.empty()) {
        return node_id;
    }
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        throw std::runtime_error("cluster.node_id: empty and the host name is unknown; set it");
    }
    std::string id(host);
    if (!valid_node_id(id)) {
        throw std::runtime_error("cluster.node_id: empty and the host name '" + id +
                                 "' is no valid node id ([A-Za-z0-9_.-]); set it");
    }
    return id;
}

cluster_config read_cluster_config(const YAML::Node& node, const std::string& path) {
    cluster_config out;
    const core::config_section s(
        node, path,
        {"enabled", "name", "node_id", "heartbeat", "gather", "rate_limit", "bindings"});
    core::read_bool(s, "enabled", out.enabled);
    core::read_string(s, "name", out.name);
    if (!valid_cluster_name(out.name)) {
        throw core::config_error(s.path_of("name"),
                                 "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-' "
                                 "(it prefixes NATS subjects)");
    }
    core::read_string(s, "node_id", out.node_id);
    if (!out.node_id.empty() && !valid_node_id(out.node_id)) {
        throw core::config_error(s.path_of("node_id"),
                                 "must be 1 to 128 characters of A-Z, a-z, 0-9, '_', '-' and "
                                 "'.' without empty dot-separated parts (empty: the host name)");
    }
    core::read_duration(s, "heartbeat", out.heartbeat, core::zero_duration::rejected);
    if (out.heartbeat < std::chrono::milliseconds(100) || out.heartbeat > std::chrono::minutes(1)) {
        throw core::config_error(s.path_of("heartbeat"), "must be between 100ms and 1m");
    }
    const core::config_section gather(s.get("gather"), s.path_of("gather"),
                                      {"timeout", "chunk_bytes"});
    core::read_duration(gather, "timeout", out.gather.timeout, core::zero_duration::rejected);
    core::read_byte_size(gather, "chunk_bytes", out.gather.chunk_bytes, min_chunk_bytes,
                         max_chunk_bytes);
    const core::config_section rate_limit(s.get("rate_limit"), s.path_of("rate_limit"), {"sync"});
    core::read_duration(rate_limit, "sync", out.rate_limit.sync, core::zero_duration::rejected);
    if (out.rate_limit.sync < std::chrono::milliseconds(10) ||
        out.rate_limit.sync > std::chrono::seconds(10)) {
        throw core::config_error(rate_limit.path_of("sync"), "must be between 10ms and 10s");
    }
    const core::config_section bindings(s.get("bindings"), s.path_of("bindings"),
                                        {"store", "replicas"});
    std::string store = "auto";
    core::read_string(bindings, "store", store);
    if (store == "auto") {
        out.bindings.store = bindings_store::automatic;
    } else if (store == "kv") {
        out.bindings.store = bindings_store::kv;
    } else if (store == "local") {
        out.bindings.store = bindings_store::local;
    } else {
        throw core::config_error(bindings.path_of("store"), "must be auto, kv or local");
    }
    core::read_uint(bindings, "replicas", out.bindings.replicas, 1, 5);
    return out;
}

}  // namespace mgw::cluster
