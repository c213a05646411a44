// The fetch plan of an app answer: request + route snapshot + options -> targets, labels,
// deadline and forwarded headers, without any I/O.
#include "fetch_plan.hpp"

#include <algorithm>

#include <mgw/exposition/content_type.hpp>
#include <mgw/routes/identifier.hpp>
#include <mgw/scrape/request_headers.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::apps {

namespace {

using clock = std::chrono::steady_clock;

// The time instances get: the configured timeout, lowered by the scraper's own timeout header,
// and never past the HTTP request's deadline (the merge still has to be written).
clock::time_point scrape_deadline(const http::request_context& request,
                                  std::chrono::milliseconds configured, clock::time_point now) {
    const auto timeout =
        scrape::scrape_timeout(configured, request.header("X-Prometheus-Scrape-Timeout-Seconds"));
    const auto request_deadline = request.deadline() - scrape::scrape_timeout_margin;
    return std::min(now + timeout, request_deadline);
}

// The tags of the first instance of each distinct app_id, in instance order: what external
// exporters are asked about, once per app (Promfetcher's mapTagsRoute).
std::vector<const std::map<std::string, std::string>*> distinct_apps(
    const routes::endpoint_list& endpoints) {
    std::vector<const std::map<std::string, std::string>*> apps;
    std::vector<std::string_view> seen;
    for (const routes::endpoint_ptr& endpoint : endpoints) {
        const std::string_view app_id = endpoint->tag("app_id");
        if (std::find(seen.begin(), seen.end(), app_id) == seen.end()) {
            seen.push_back(app_id);
            apps.push_back(&endpoint->tags);
        }
    }
    return apps;
}

// The path asked of every instance: an explicit `metric_path=` wins, then the path the app
// registered through the broker, then `/metrics`.
std::string instance_metric_path(const app_request& app, std::string_view app_guid,
                                 const metric_path_lookup& lookup) {
    if (app.metric_path_given || !lookup || app_guid.empty()) {
        return app.metric_path;
    }
    const std::optional<std::string> registered = lookup(app_guid);
    if (!registered) {
        return app.metric_path;
    }
    // The broker validated it at bind time; normalised again because a bad path here would
    // make the gateway a client of another host.
    return normalise_metric_path(*registered).value_or(app.metric_path);
}

}  // namespace

boost::system::result<fetch_plan, app_request_error> plan_fetch(
    const http::request_context& request, const routes::route_snapshot& snapshot,
    const app_metrics_options& options, const metric_path_lookup& lookup, clock::time_point now) {
    auto parsed = parse_app_request(request.path(), request.query());
    if (!parsed) {
        return parsed.error();
    }
    fetch_plan plan;
    plan.app = std::move(*parsed);
    const std::string& identifier = plan.app.identifier;
    // A path identifier was decoded by http/; a query value is unescaped once more, as
    // Promfetcher does (kept as given when malformed).
    plan.shown = plan.app.identifier_in_query
                     ? routes::path_unescape(identifier).value_or(identifier)
                     : identifier;
    plan.endpoints = snapshot.resolve_unescaped(plan.shown);
    routes::order_instances(plan.endpoints);
    plan.apps = distinct_apps(plan.endpoints);
    // Sources compare GUIDs in the canonical spelling, also for an app only they know.
    const routes::endpoint* first = plan.first();
    const std::string_view known_guid = first != nullptr ? first->tag("app_id") : plan.shown;
    plan.app_guid = text::canonical_uuid(known_guid)
                        .value_or(first != nullptr ? std::string(known_guid) : std::string());
    plan.metric_path = instance_metric_path(plan.app, plan.app_guid, lookup);

    const std::size_t count = plan.endpoints.size();
    plan.labels = std::vector<instance_labels>(count);
    plan.targets.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        const routes::endpoint& endpoint = *plan.endpoints[i];
        plan.labels[i].assign(endpoint);
        plan.targets[i] = {.host = endpoint.host,
                           .port = endpoint.port,
                           .tls = endpoint.tls,
                           .server_name = endpoint.server_cert_domain_san,
                           .path = plan.metric_path};
    }

    scrape::header_list client_headers;
    for (const std::string& name : options.forward_headers) {
        if (const auto value = request.header(name)) {
            client_headers.emplace_back(name, std::string(*value));
        }
    }
    plan.headers = scrape::select_forward_headers(client_headers, options.forward_headers);
    plan.deadline = scrape_deadline(request, options.scrape_timeout, now);
    plan.accept = std::string(plan.app.api_version == 1 ? exposition::promfetcher_v1_accept
                                                        : exposition::promfetcher_v2_accept);
    return plan;
}

}  // namespace mgw::apps
