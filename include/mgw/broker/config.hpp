// The `broker` section of the gateway's configuration: the Open Service Broker's credentials,
// store, catalog ids and plans. Read here so that a broker key is added in this module only;
// the catalog and the service take this struct as it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace mgw::broker {

// A plan of the metrics-forwarder service: what an app bound with it may push per minute.
struct broker_plan_config {
    std::string name;
    std::string id;  // stable: the Cloud Controller keys service instances by it
    std::string description;
    std::optional<std::uint32_t> requests_per_minute;  // YAML "unlimited": nullopt
    std::optional<std::uint32_t> metrics_per_minute;
};

// The ids promfetcher-release's BOSH job registers with the Cloud Controller (its spec's
// defaults for promfetcher.broker.service_id / plan_id), so a gateway can take over a deployed
// Promfetcher's broker registration as it is. (The promfetcher binary's own defaults,
// 75bcebab-... / e2900be3-..., are what a Promfetcher run without BOSH registered.)
struct broker_promfetcher_config {
    std::string service_id = "e44a55b7-b532-4247-89f3-4ea92054b793";
    std::string plan_id = "3294e4fa-42b3-4505-b289-8fb3695b5b3a";
};

struct broker_forwarder_config {
    std::string service_id = "20ca29fa-5601-4846-bf41-d73ed6c7b157";
    std::vector<broker_plan_config> plans{{.name = "unlimited",
                                           .id = "90197714-1698-46ce-b839-492957f4a15c",
                                           .description = "Push custom metrics without limits",
                                           .requests_per_minute = std::nullopt,
                                           .metrics_per_minute = std::nullopt}};
};

struct broker_config {
    bool enabled = false;
    std::string username;
    std::string password;
    // SQLite file. Empty: $STATE_DIRECTORY/broker.db when systemd gives the gateway a state
    // directory (the shipped unit's StateDirectory=), else in memory only; ":memory:" forces
    // memory.
    std::string database;
    // Base URL apps reach the gateway at (`https://metrics.example.com`); the forwarder's
    // credentials carry `<external_url>/v1/metrics`. Empty: the main listener's own URL.
    std::string external_url;
    broker_promfetcher_config promfetcher;
    broker_forwarder_config metrics_forwarder;
    // Ceilings on what the Cloud Controller can make the broker hold (each binding is in memory
    // for the push and scrape paths); past them provision / bind get 422.
    std::uint32_t max_instances = 100000;
    std::uint32_t max_bindings = 100000;
};

// Reads the section `node` found at `path` (absent or null: the defaults, broker off). Checks
// the catalog: ids and names well-formed, every id unique. Throws core::config_error naming the
// key's path ("broker.metrics_forwarder.plans[1].id").
broker_config read_broker_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::broker
