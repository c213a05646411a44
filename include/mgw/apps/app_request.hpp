// Apps module: what a Promfetcher-compatible request asks for (API version, app identifier,
// metrics path, only-app-metrics), read from its path and query without any I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mgw::apps {

struct app_request {
    int api_version = 2;      // 1: instances get Promfetcher's v1 Accept (OpenMetrics first)
    std::string identifier;   // raw: org/space/app, app GUID or route (resolved by routes/)
    std::string metric_path;  // path (and query) requested from every instance
    // metric_path came from the query; otherwise it is the default `/metrics`, which a path the
    // app registered through the service broker replaces.
    bool metric_path_given = false;
    bool only_app_metrics = false;
};

struct app_request_error {
    int status = 400;
    std::string body;
};

// Parses `/v{N}/apps/...` (`raw_path` still percent-encoded, as on the request line) with its
// decoded query parameters. Forms: `/vN/apps/{identifier}/metrics`,
// `/vN/apps/{identifier}/only-app-metrics`, `/vN/apps/metrics?app=...|route_url=...` and
// `/vN/apps/only-app-metrics?...`. The identifier may contain slashes and may be wrapped in
// double quotes (`?app="org/space/app"`, as Promfetcher's README shows). Errors: 404 for a
// path of no known form, 400 without an identifier or with a `metric_path` that is not a path.
std::variant<app_request, app_request_error> parse_app_request(
    std::string_view raw_path, const std::vector<std::pair<std::string, std::string>>& query);

// `metric_path` as sent to instances: trimmed, `/metrics` when empty, a leading `/` added.
// nullopt when it is not a plain path: a scheme (`http://...`), an authority (`//host/...`),
// or bytes that could end the request line (controls, spaces): the gateway must never be
// turned into a client of arbitrary hosts.
std::optional<std::string> normalise_metric_path(std::string_view metric_path);

}  // namespace mgw::apps
