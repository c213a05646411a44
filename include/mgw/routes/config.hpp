// The `routes` section of the gateway's configuration: the fixed routes and the cap on how long
// a NATS route lives unrefreshed. Read here so that a route key is added in this module only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mgw/routes/route_subscriber.hpp>
#include <mgw/routes/route_table.hpp>

namespace mgw::routes {

struct routes_config {
    std::vector<static_route> static_routes;  // YAML key: static
    // Upper bound on how long a NATS route lives without being re-registered, whatever
    // stale threshold the routers announce.
    std::chrono::milliseconds stale_threshold{std::chrono::seconds{120}};

    // The table's options for a subscriber announcing `announced`: emitters re-register every
    // minimumRegisterIntervalInSeconds, so a route lives at least that long whatever
    // stale_threshold says (gorouter raises it likewise).
    route_table_options table_options(const subscriber_options& announced) const;
};

// Reads the section `node` found at `path` (absent or null: the defaults). Throws
// core::config_error naming the key's path ("routes.static[2].port").
routes_config read_routes_config(const YAML::Node& node, const std::string& path);

}  // namespace mgw::routes
