// Apps module: GET /routes, the route table as JSON for operators. Behind basic auth, unlike
// Promfetcher's, because it lists every org, space and app name of the platform.
#pragma once

#include <string>

#include <mgw/http/basic_auth.hpp>
#include <mgw/http/handler.hpp>
#include <mgw/routes/route_table.hpp>

namespace mgw::apps {

// An empty username disables the endpoint (every request gets 401).
http::handler make_routes_handler(const routes::route_table& table,
                                  http::basic_credentials credentials);

}  // namespace mgw::apps
