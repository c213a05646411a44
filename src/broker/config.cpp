// Reads the `broker` section with the core YAML toolkit. Catalog ids and names are checked as
// the Cloud Controller and Open Service Broker 2.13 require, so a bad catalog stops the start
// instead of failing registration later.
#include <algorithm>
#include <limits>
#include <set>

#include <fmt/format.h>

#include <mgw/broker/config.hpp>
#include <mgw/core/config_reader.hpp>

namespace mgw::broker {

using core::config_absent;
using core::config_element_path;
using core::config_error;
using core::config_section;
using core::read_bool;
using core::read_string;
using core::read_uint;

namespace {

// A per-minute limit: a positive integer, or "unlimited" (nullopt).
void read_limit(const config_section& s, std::string_view key, std::optional<std::uint32_t>& out) {
    const YAML::Node node = s.get(key);
    if (config_absent(node)) {
        return;
    }
    if (node.IsScalar() && node.Scalar() == "unlimited") {
        out.reset();
        return;
    }
    std::uint32_t value = 0;
    read_uint(s, key, value, 1, std::numeric_limits<std::uint32_t>::max());
    out = value;
}

bool is_catalog_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

void require_catalog_id(const config_section& s, std::string_view key, const std::string& value) {
    if (value.empty()) {
        throw config_error(s.path_of(key), "required");
    }
    if (value.size() > 255 || !std::all_of(value.begin(), value.end(), is_catalog_id_char)) {
        throw config_error(s.path_of(key),
                           fmt::format("invalid id \"{}\" (letters, digits, '-', '_', '.'; at "
                                       "most 255)",
                                       value));
    }
}

// OSB's "CLI-friendly" names as both versions the broker serves define them: 2.13 allows
// lowercase letters, digits and hyphens; 2.14 adds uppercase and periods. Underscores are in
// neither.
void require_catalog_name(const config_section& s, std::string_view key, const std::string& value) {
    const auto cli_friendly = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    };
    if (value.empty()) {
        throw config_error(s.path_of(key), "required");
    }
    if (value.size() > 255 || !std::all_of(value.begin(), value.end(), cli_friendly)) {
        throw config_error(s.path_of(key),
                           fmt::format("invalid name \"{}\" (lowercase letters, digits and '-', "
                                       "as Open Service Broker 2.13 requires; at most 255)",
                                       value));
    }
}

broker_plan_config read_broker_plan(const YAML::Node& node, const std::string& path) {
    if (config_absent(node)) {
        throw config_error(path, "expected a mapping");
    }
    const config_section s(
        node, path, {"name", "id", "description", "requests_per_minute", "metrics_per_minute"});
    broker_plan_config plan;
    read_string(s, "name", plan.name);
    read_string(s, "id", plan.id);
    read_string(s, "description", plan.description);
    read_limit(s, "requests_per_minute", plan.requests_per_minute);
    read_limit(s, "metrics_per_minute", plan.metrics_per_minute);
    require_catalog_name(s, "name", plan.name);
    require_catalog_id(s, "id", plan.id);
    if (plan.description.empty()) {
        plan.description = fmt::format("Push custom metrics ({} plan)", plan.name);
    }
    return plan;
}

}  // namespace

broker_config read_broker_config(const YAML::Node& node, const std::string& path) {
    broker_config out;
    const config_section s(node, path,
                           {"enabled", "username", "password", "database", "external_url",
                            "promfetcher", "metrics_forwarder", "max_instances", "max_bindings"});
    read_bool(s, "enabled", out.enabled);
    read_string(s, "username", out.username);
    read_string(s, "password", out.password);
    read_string(s, "database", out.database);
    read_string(s, "external_url", out.external_url);
    read_uint(s, "max_instances", out.max_instances, 1, 10'000'000);
    read_uint(s, "max_bindings", out.max_bindings, 1, 10'000'000);
    if (!out.external_url.empty() && !out.external_url.starts_with("http://") &&
        !out.external_url.starts_with("https://")) {
        throw config_error(
            s.path_of("external_url"),
            fmt::format("expected an http:// or https:// URL, got \"{}\"", out.external_url));
    }
    while (out.external_url.ends_with('/')) {
        out.external_url.pop_back();
    }
    // An enabled broker without credentials would let anyone create bindings.
    if (out.enabled && out.username.empty()) {
        throw config_error(s.path_of("username"), "required when broker.enabled is true");
    }
    if (out.enabled && out.password.empty()) {
        throw config_error(s.path_of("password"), "required when broker.enabled is true");
    }

    const config_section promfetcher(s.get("promfetcher"), s.path_of("promfetcher"),
                                     {"service_id", "plan_id"});
    read_string(promfetcher, "service_id", out.promfetcher.service_id);
    read_string(promfetcher, "plan_id", out.promfetcher.plan_id);
    require_catalog_id(promfetcher, "service_id", out.promfetcher.service_id);
    require_catalog_id(promfetcher, "plan_id", out.promfetcher.plan_id);

    const config_section forwarder(s.get("metrics_forwarder"), s.path_of("metrics_forwarder"),
                                   {"service_id", "plans"});
    read_string(forwarder, "service_id", out.metrics_forwarder.service_id);
    require_catalog_id(forwarder, "service_id", out.metrics_forwarder.service_id);
    const YAML::Node plans = forwarder.get("plans");
    if (!config_absent(plans)) {
        const std::string path = forwarder.path_of("plans");
        if (!plans.IsSequence()) {
            throw config_error(path, "expected a sequence");
        }
        out.metrics_forwarder.plans.clear();
        for (std::size_t i = 0; i < plans.size(); ++i) {
            out.metrics_forwarder.plans.push_back(
                read_broker_plan(plans[i], config_element_path(path, i)));
        }
    }
    if (out.metrics_forwarder.plans.empty()) {
        throw config_error(forwarder.path_of("plans"), "at least one plan required");
    }
    // The Cloud Controller tells services and plans apart by id alone, across the catalog.
    std::set<std::string> ids{out.promfetcher.service_id};
    const auto unique = [&ids](const std::string& id, const std::string& path) {
        if (!ids.insert(id).second) {
            throw config_error(path, fmt::format("id \"{}\" used twice in the catalog", id));
        }
    };
    unique(out.promfetcher.plan_id, promfetcher.path_of("plan_id"));
    unique(out.metrics_forwarder.service_id, forwarder.path_of("service_id"));
    std::set<std::string> names;
    for (std::size_t i = 0; i < out.metrics_forwarder.plans.size(); ++i) {
        const std::string path = config_element_path(forwarder.path_of("plans"), i);
        unique(out.metrics_forwarder.plans[i].id, path + ".id");
        if (!names.insert(out.metrics_forwarder.plans[i].name).second) {
            throw config_error(path + ".name", fmt::format("plan name \"{}\" used twice",
                                                           out.metrics_forwarder.plans[i].name));
        }
    }
    return out;
}

}  // namespace mgw::broker
