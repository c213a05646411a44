// Apps module: the Promfetcher-compatible endpoints `/v1|v2/apps/.../metrics`: resolve the app's
// instances in the route table, fetch them all within the deadline, merge them with CF labels
// and stream one valid exposition in the format the client negotiated.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/core/log.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>
#include <mgw/http/router.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/scrape/scraper.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::apps {

struct app_metrics_options {
    std::chrono::milliseconds scrape_timeout{std::chrono::seconds(10)};
    std::vector<std::string> forward_headers{"Authorization"};
    std::size_t max_body_bytes = 16u << 20;
    exposition::collision_policy collisions = exposition::collision_policy::rename_exported;
    std::size_t chunk_bytes = 64u << 10;  // streamed response chunk size
};

class app_metrics_service {
  public:
    app_metrics_service(const routes::route_table& table, scrape::scraper& scraper,
                        app_metrics_options options, core::logger& log,
                        prometheus::Registry& registry);
    ~app_metrics_service();
    app_metrics_service(const app_metrics_service&) = delete;
    app_metrics_service& operator=(const app_metrics_service&) = delete;

    // GET /v1/apps/... and /v2/apps/...
    void register_routes(http::router& router);

    boost::asio::awaitable<void> handle(http::request_context& request, http::response& response);

  private:
    struct metrics;

    const routes::route_table& table_;
    scrape::scraper& scraper_;
    app_metrics_options options_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
};

}  // namespace mgw::apps
