// Apps module: the routes_api credentials that guard /routes, /v1/sd and /status, which all
// list every org, space and app name of the platform; one refusal for all of them.
#pragma once

#include <string>
#include <string_view>

#include <mgw/http/basic_auth.hpp>
#include <mgw/http/handler.hpp>

namespace mgw::apps {

// True when the request carries the routes_api credentials; otherwise writes the 401 (saying
// how to enable `path` when no username is configured) and returns false.
inline bool routes_api_allows(http::request_context& request, http::response& response,
                              const http::basic_credentials& credentials, std::string_view path) {
    if (http::basic_auth_matches(request.header("Authorization").value_or(""), credentials)) {
        return true;
    }
    response.status(http::status::unauthorized);
    response.set("WWW-Authenticate", R"(Basic realm="metrics-gateway routes")");
    response.set("Content-Type", "text/plain; charset=utf-8");
    if (credentials.username.empty()) {
        std::string body =
            "401 Unauthorized: set routes_api.username and routes_api.password "
            "to enable ";
        body += path;
        body += '\n';
        response.body(std::move(body));
    } else {
        response.body("401 Unauthorized\n");
    }
    return false;
}

}  // namespace mgw::apps
