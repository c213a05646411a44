// Apps module: what a Promfetcher-compatible request asks for (API version, app identifier,
// metrics path, only-app-metrics), read from its path and query without any I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::apps {

struct app_request {
    int api_version = 2;     // 1: instances get Promfetcher's v1 Accept (OpenMetrics first)
    std::string identifier;  // as given: org/space/app, app GUID or route (resolved by routes/)
    // The identifier came from the `app` or `route_url` query parameter: http/ decoded it as a
    // query value, and Promfetcher path-unescapes it once more. One taken from a path that
    // http/ decoded is unescaped already.
    bool identifier_in_query = false;
    std::string metric_path;  // path (and query) requested from every instance
    // metric_path came from the query; otherwise it is the default `/metrics`, which a path the
    // app registered through the service broker replaces.
    bool metric_path_given = false;
    bool only_app_metrics = false;
    // `scope=local`: this node's series only, no cluster peers (`scope=cluster`, the default,
    // asks them when cluster mode is on).
    bool local_only = false;
};

// Why a request was refused, as an error_code of the category "mgw.apps" (docs/DEVELOPING.md,
// "Errors"): the kind of fault, for code that branches; the status and body below are what the
// client gets.
enum class errc {
    unknown_path = 1,     // a path of no known form (404)
    missing_identifier,   // neither the path nor `app` / `route_url` name an app (400)
    invalid_metric_path,  // a `metric_path` that is not a plain path (400)
    invalid_scope,        // a `scope` other than local or cluster (400)
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

// What the client gets (status and body) and the kind of fault; the parser sets all three,
// the defaults describe a 400.
struct app_request_error {
    int status = 400;
    std::string body;
    boost::system::error_code code = make_error_code(errc::missing_identifier);
};

// Lets result<T, app_request_error>::value() throw when misused; the parser never throws.
[[noreturn]] void throw_exception_from_error(const app_request_error& error,
                                             const boost::source_location& location);

// Parses `/v{N}/apps/...` with its decoded query parameters. The gateway passes the path http/
// decoded; a still percent-encoded path is read the same way (its identifier then needs one
// unescape, as routes::route_snapshot::resolve does). Forms: `/vN/apps/{identifier}/metrics`,
// `/vN/apps/{identifier}/only-app-metrics`, `/vN/apps/metrics?app=...|route_url=...` and
// `/vN/apps/only-app-metrics?...`. The identifier may contain slashes and may be wrapped in
// double quotes (`?app="org/space/app"`, as Promfetcher's README shows). Errors: 404 for a
// path of no known form, 400 without an identifier or with a `metric_path` that is not a path.
boost::system::result<app_request, app_request_error> parse_app_request(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& query);

// `metric_path` as sent to instances: trimmed, `/metrics` when empty, a leading `/` added.
// nullopt when it is not a plain path: a scheme (`http://...`), an authority (`//host/...`),
// or bytes that could end the request line (controls, spaces): the gateway must never be
// turned into a client of arbitrary hosts.
std::optional<std::string> normalise_metric_path(std::string_view metric_path);

}  // namespace mgw::apps

template <>
struct boost::system::is_error_code_enum<mgw::apps::errc> : std::true_type {};
