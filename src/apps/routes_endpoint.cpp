// GET /routes: a snapshot of the route table, rendered by the routes module.
#include <mgw/apps/routes_api_auth.hpp>
#include <mgw/apps/routes_endpoint.hpp>
#include <mgw/routes/route_snapshot.hpp>

namespace mgw::apps {

http::handler make_routes_handler(const routes::route_table& table,
                                  http::basic_credentials credentials) {
    return [&table, credentials = std::move(credentials)](
               http::request_context& request,
               http::response& response) -> boost::asio::awaitable<void> {
        if (!routes_api_allows(request, response, credentials, "/routes")) {
            co_return;
        }
        response.set("Content-Type", "application/json");
        response.body(routes::routes_json(*table.snapshot(), routes::route_clock::now()));
    };
}

}  // namespace mgw::apps
