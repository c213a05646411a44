// Gateway module: the status console (`GET /status`), an HTML page the gateway renders itself
// from plain snapshots of every module's state, so an operator sees in a browser what raw
// /metrics and /routes JSON only hint at. The renderer is pure; the endpoint only gathers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/apps/scrape_history.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/bosh/subscription_distributor.hpp>
#include <mgw/cluster/bindings_status.hpp>
#include <mgw/cluster/cluster_service.hpp>
#include <mgw/http/basic_auth.hpp>
#include <mgw/http/handler.hpp>
#include <mgw/loggregator/emitter.hpp>
#include <mgw/nats/client.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/push/rate_limiter.hpp>
#include <mgw/routes/route_snapshot.hpp>
#include <mgw/rsocket/proxy_status.hpp>

namespace mgw::gateway {

struct listener_status {
    std::string name;     // "main", "health", "bosh ingest", ...
    std::string address;  // as configured
    bool tls = false;
};

// Everything the page shows, copied out of the modules (each under its own lock) at one time.
struct status_snapshot {
    std::string version;
    std::chrono::steady_clock::duration uptime{};
    std::chrono::steady_clock::time_point now{};  // what the scrape records' ages count from
    std::vector<listener_status> listeners;
    std::optional<nats::client_status> nats;         // nullopt: no NATS configured
    std::optional<cluster::cluster_status> cluster;  // nullopt: cluster mode off
    // The broker's binding store in cluster mode; nullopt: cluster mode or the broker off.
    std::optional<cluster::bindings_store_status> bindings_store;
    routes::route_summary routes;
    // Every app the gateway can answer for (service discovery's view, by GUID).
    std::vector<apps::sd_target_group> apps;
    // The last scrape of the most recently scraped apps, most recent first.
    std::vector<apps::app_scrape_record> scrapes;
    std::size_t scrape_capacity = 0;
    bool push_enabled = false;
    std::vector<push::push_binding> push_bindings;  // by binding id
    std::vector<push::window_use> push_use;         // this minute's, by binding id
    std::optional<rsocket::proxy_status> rsocket;   // nullopt: no RSocket listener
    // nullopt: no BOSH ingest listener.
    std::optional<std::vector<bosh::subscription_stats>> bosh_subscriptions;
    std::optional<loggregator::emitter_status> loggregator;  // nullopt: emitter off
};

// Rows of one table shown at most; the rest is counted ("N more"), so a platform of many
// thousand apps still gets a page a browser renders at once (/v1/sd and /routes list them all).
inline constexpr std::size_t status_page_max_rows = 500;

// The page: self-contained HTML5 (inline CSS, no script, no external request), every dynamic
// string escaped, readable from a phone's width up.
std::string render_status_page(const status_snapshot& snapshot);

// Text made safe for HTML element content and quoted attribute values (& < > " ').
std::string html_escape(std::string_view text);

// "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h".
std::string format_age(std::chrono::steady_clock::duration age);

// GET /status: the routes_api credentials (as /routes and /v1/sd), then `gather()` rendered as
// `text/html; charset=utf-8`, never cached. `gather` runs on the request's thread and must only
// copy (the modules' status accessors do).
http::handler make_status_handler(std::function<status_snapshot()> gather,
                                  http::basic_credentials credentials);

}  // namespace mgw::gateway
