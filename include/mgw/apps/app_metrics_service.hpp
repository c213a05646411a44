// Apps module: the Promfetcher-compatible endpoints `/v1|v2/apps/.../metrics`: resolve the app's
// instances in the route table, fetch them all within the deadline, merge them with CF labels
// and stream one valid exposition in the format the client negotiated.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/apps/app_request.hpp>
#include <mgw/apps/app_source.hpp>
#include <mgw/apps/scrape_history.hpp>
#include <mgw/core/log.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/stream_body.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/scrape/config.hpp>
#include <mgw/scrape/scraper.hpp>

namespace prometheus {
class Registry;
}
namespace mgw::core {
class memory_budget;
}

namespace mgw::apps {

struct answer_counters;

struct app_metrics_options {
    std::chrono::milliseconds scrape_timeout{std::chrono::seconds(10)};
    std::vector<std::string> forward_headers{"Authorization"};
    std::size_t max_body_bytes = 16u << 20;
    exposition::collision_policy collisions = exposition::collision_policy::rename_exported;
    std::size_t chunk_bytes = http::stream_chunk_bytes;  // streamed response chunk size

    // The app answer's settings from the `scrape` section (the rest keep their defaults).
    static app_metrics_options from(const scrape::scrape_config& scrape);
};

// The metrics path an app registered for itself (the service broker's `endpoint` bind
// parameter), by app GUID; nullopt when it registered none.
using metric_path_lookup = std::function<std::optional<std::string>(std::string_view app_guid)>;

class app_metrics_service {
  public:
    app_metrics_service(const routes::route_table& table, scrape::scraper& scraper,
                        app_metrics_options options, core::logger& log,
                        prometheus::Registry& registry);
    // A merge leases everything it holds from `memory` before it holds it: the instance
    // bodies and their parsed series as they arrive (scrape_bodies), the contributions of the
    // app sources likewise, and the chunks of the answer (http_answer). When the ceiling
    // refuses, that request gets a 503 and gives back what it held; other merges go on.
    app_metrics_service(const routes::route_table& table, scrape::scraper& scraper,
                        app_metrics_options options, core::logger& log,
                        prometheus::Registry& registry, core::memory_budget& memory);
    ~app_metrics_service();
    app_metrics_service(const app_metrics_service&) = delete;
    app_metrics_service& operator=(const app_metrics_service&) = delete;

    // GET /v1/apps/... and /v2/apps/...
    void register_routes(http::router& router);

    // Sources asked for every app alongside its instances (pushed metrics, RSocket clients,
    // external exporters); their series follow the instances' in the order the sources were
    // added. They must outlive this service. Call before serving.
    void add_source(app_source& source);
    // Replaces the default `/metrics` of apps that registered a path; an explicit
    // `metric_path=` still wins. Call before serving.
    void set_metric_path_lookup(metric_path_lookup lookup);

    // A thin coroutine over pure steps: the fetch plan (src/apps/fetch_plan.hpp), the fan-out
    // to instances and sources, the answer decision and the merger's inputs
    // (src/apps/answer_decision.hpp), then the negotiated, streamed merge.
    boost::asio::awaitable<void> handle(http::request_context& request, http::response& response);

    // The last scrape of the most recently scraped apps (at most
    // scrape_history::default_capacity), most recent first: for the status console.
    std::vector<app_scrape_record> recent_scrapes() const { return history_.snapshot(); }
    std::size_t recent_scrapes_capacity() const { return history_.capacity(); }

  private:
    // Every source in parallel, or only those of series_origin::app for /only-app-metrics;
    // their contributions in the order the sources were added.
    boost::asio::awaitable<std::vector<contributed_exposition>> collect_sources(
        const app_query& app, std::chrono::steady_clock::time_point deadline,
        bool only_app_metrics);

    const routes::route_table& table_;
    scrape::scraper& scraper_;
    app_metrics_options options_;
    core::logger& log_;
    std::unique_ptr<answer_counters> metrics_;
    std::vector<app_source*> sources_;
    metric_path_lookup metric_path_lookup_;
    core::memory_budget* memory_ = nullptr;  // null: no ceiling
    scrape_history history_;
};

}  // namespace mgw::apps
