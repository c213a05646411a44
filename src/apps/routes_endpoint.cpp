// GET /routes: a snapshot of the route table, rendered by the routes module.
#include <mgw/apps/routes_endpoint.hpp>
#include <mgw/routes/route_snapshot.hpp>

namespace mgw::apps {

http::handler make_routes_handler(const routes::route_table& table,
                                  http::basic_credentials credentials) {
    return [&table, credentials = std::move(credentials)](
               http::request_context& request,
               http::response& response) -> boost::asio::awaitable<void> {
        if (!http::basic_auth_matches(request.header("Authorization").value_or(""), credentials)) {
            response.status(http::status::unauthorized);
            response.set("WWW-Authenticate", R"(Basic realm="metrics-gateway routes")");
            response.set("Content-Type", "text/plain; charset=utf-8");
            response.body(credentials.username.empty()
                              ? "401 Unauthorized: set routes_api.username and "
                                "routes_api.password to enable /routes\n"
                              : "401 Unauthorized\n");
            co_return;
        }
        response.set("Content-Type", "application/json");
        response.body(routes::routes_json(*table.snapshot(), routes::route_clock::now()));
    };
}

}  // namespace mgw::apps
