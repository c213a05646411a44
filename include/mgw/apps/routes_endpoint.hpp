// Apps module: GET /routes, the route table as JSON for operators. Behind basic auth, unlike
// Promfetcher's, because it lists every org, space and app name of the platform.
#pragma once

#include <string>

#include <mgw/http/handler.hpp>
#include <mgw/routes/route_table.hpp>

namespace mgw::apps {

// Credentials for the endpoint; an empty username disables it (every request gets 401).
struct basic_credentials {
    std::string username;
    std::string password;
};

// True when `authorization` is `Basic base64(username:password)` for these credentials. The
// comparison takes the same time wherever the first difference is.
bool basic_auth_matches(std::string_view authorization, const basic_credentials& credentials);

http::handler make_routes_handler(const routes::route_table& table, basic_credentials credentials);

}  // namespace mgw::apps
