// GET /status: the thin shell around render_status_page: the routes_api credentials, one
// snapshot gathered from the modules, the page answered uncached.
#include <mgw/apps/routes_api_auth.hpp>

#include "status_page.hpp"

namespace mgw::gateway {

http::handler make_status_handler(std::function<status_snapshot()> gather,
                                  http::basic_credentials credentials) {
    return [gather = std::move(gather), credentials = std::move(credentials)](
               http::request_context& request,
               http::response& response) -> boost::asio::awaitable<void> {
        if (!apps::routes_api_allows(request, response, credentials, "/status")) {
            co_return;
        }
        response.set("Content-Type", "text/html; charset=utf-8");
        // The state of this moment: a cached copy would show an operator stale numbers.
        response.set("Cache-Control", "no-store");
        response.body(render_status_page(gather()));
    };
}

}  // namespace mgw::gateway
