// Apps module: GET /v1/sd, Prometheus HTTP service discovery over the route table and the
// directories of pushed and connected apps. Behind the same basic auth as /routes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/apps/service_discovery.hpp>
#include <mgw/http/basic_auth.hpp>
#include <mgw/http/handler.hpp>
#include <mgw/routes/route_table.hpp>

namespace mgw::apps {

struct sd_endpoint_options {
    // Where Prometheus reaches the gateway when the request has no usable Host header (the
    // main listener's address), and the scheme of that listener.
    std::string fallback_target;
    std::string scheme = "http";
    // Cluster mode: the apps the live peers' directories know, gathered by the deadline (the
    // request's, less the scrape margin) and merged with this node's (merge_remote_listings);
    // not with `?scope=local`. Unset: this node's apps only.
    std::function<boost::asio::awaitable<std::vector<remote_listing>>(
        std::chrono::steady_clock::time_point)>
        peers;
};

// The table and the directories outlive the handler. Query: `org`, `space`, `app` (exact
// names), `scope=local`. An empty username disables the endpoint (every request gets 401).
http::handler make_sd_handler(const routes::route_table& table,
                              std::vector<const app_directory*> directories,
                              http::basic_credentials credentials, sd_endpoint_options options);

}  // namespace mgw::apps
