// GET /v1/sd: the I/O shell over discover_targets (auth, query, Host, the cluster peers'
// apps) for Prometheus' http_sd_configs.
#include <mgw/apps/routes_api_auth.hpp>
#include <mgw/apps/service_discovery_endpoint.hpp>
#include <mgw/scrape/request_headers.hpp>

namespace mgw::apps {

http::handler make_sd_handler(const routes::route_table& table,
                              std::vector<const app_directory*> directories,
                              http::basic_credentials credentials, sd_endpoint_options options) {
    return
        [&table, directories = std::move(directories), credentials = std::move(credentials),
         options = std::move(options)](http::request_context& request,
                                       http::response& response) -> boost::asio::awaitable<void> {
            if (!routes_api_allows(request, response, credentials, "/v1/sd")) {
                co_return;
            }
            const sd_filter filter{.org = std::string(request.query("org").value_or("")),
                                   .space = std::string(request.query("space").value_or("")),
                                   .app = std::string(request.query("app").value_or(""))};
            // The peers' apps, gathered first: this node's directories are read after, at once.
            std::vector<remote_listing> remote;
            if (options.peers && request.query("scope").value_or("") != "local") {
                remote = co_await options.peers(request.deadline() - scrape::scrape_timeout_margin);
            }
            std::vector<directory_listing> listings;
            listings.reserve(directories.size());
            for (const app_directory* directory : directories) {
                directory_listing& listing = listings.emplace_back();
                listing.name = directory->directory_name();
                directory->list_apps(listing.apps);
            }
            merge_remote_listings(listings, remote);
            const std::vector<sd_target_group> groups =
                discover_targets(*table.snapshot(), listings, filter);
            sd_options sd{
                .target = std::string(sd_target_from_host(request.header("Host").value_or(""))),
                .scheme = options.scheme};
            if (sd.target.empty()) {
                sd.target = options.fallback_target;
            }
            response.set("Content-Type", "application/json");
            response.body(sd_json(groups, sd));
        };
}

}  // namespace mgw::apps
