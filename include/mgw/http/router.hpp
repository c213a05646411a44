// HTTP server module: maps method + path to a handler. Exact paths win over prefixes, the
// longest prefix wins among prefixes, the fallback (if any) takes everything else. Built once
// before the server starts, then only read (from any thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mgw/http/handler.hpp>

namespace mgw::http {

struct route_options {
    route_options() = default;
    explicit route_options(std::string route_name, std::optional<std::size_t> limit = {},
                           std::optional<std::chrono::steady_clock::duration> timeout = {})
        : name(std::move(route_name)), body_limit(limit), request_timeout(timeout) {}

    std::string name;                       // `route` label of the metrics; default: the pattern
    std::optional<std::size_t> body_limit;  // default: server_options::body_limit
    // Default: server_options::request_timeout. Zero: no deadline, for long-lived streams
    // (event streams) whose producer ends them and whose writes apply back-pressure.
    std::optional<std::chrono::steady_clock::duration> request_timeout;
    // Completes the server's own 413 for a body over body_limit, sent instead of running the
    // handler, whether the body was announced (refused before it is read) or chunked (refused
    // once it passes the limit): the push API's clients read their rate-limit fields from every
    // answer, the broker's from a JSON body. `headers` are the refused request's.
    std::function<void(const request_context::header_source& headers, response& refusal)>
        on_refused;
};

struct route {
    verb method;  // verb::unknown: any method (fallback)
    std::string pattern;
    bool prefix = false;
    http::handler handler;
    route_options options;
};

struct route_match {
    enum class kind { found, not_found, method_not_allowed };

    kind result = kind::not_found;
    const http::route* route = nullptr;  // when found
    std::string allow;                   // when method_not_allowed: value of the Allow field
};

class router {
  public:
    // Exact path, e.g. "/metrics".
    router& add(verb method, std::string path, http::handler h, route_options options = {});
    // Every path starting with `prefix`, e.g. "/v1/apps/".
    router& add_prefix(verb method, std::string prefix, http::handler h,
                       route_options options = {});
    // Any method, any path not matched otherwise (the health listener answers everything).
    router& set_fallback(http::handler h, route_options options = {});

    // HEAD falls back to the GET route of the same path (the connection drops the body).
    route_match match(verb method, std::string_view path) const;

  private:
    std::vector<http::route> exact_;
    std::vector<http::route> prefixes_;  // longest first
    std::optional<http::route> fallback_;
};

}  // namespace mgw::http
