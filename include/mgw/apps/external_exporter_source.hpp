// Apps module: Promfetcher's external exporters as an app source. Every app answer (not
// /only-app-metrics) fetches each configured exporter once per app it resolved, in parallel
// with the instances and within the same deadline, through the shared scraper (its concurrency
// slots, body limit and connection pool); the exporter's series get the app's six labels, and a
// failure becomes a promfetcher_scrape_external_exporter_error sample and a counter tick.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/external_exporter_config.hpp>
#include <mgw/core/log.hpp>
#include <mgw/scrape/scraper.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::apps {

class external_exporter_source final : public app_source {
  public:
    // `max_body_bytes`: scrape.max_body_bytes, per exporter answer like per instance. Registers
    // mgw_external_exporter_scrapes_total{exporter, result} for every exporter and result.
    external_exporter_source(std::vector<external_exporter_config> exporters,
                             scrape::scraper& scraper, std::size_t max_body_bytes,
                             core::logger& log, prometheus::Registry& registry);
    ~external_exporter_source() override;
    external_exporter_source(const external_exporter_source&) = delete;
    external_exporter_source& operator=(const external_exporter_source&) = delete;

    series_origin origin() const override { return series_origin::added; }

    boost::asio::awaitable<void> collect(const app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<contributed_exposition>& out) override;

  private:
    struct metrics;

    std::vector<external_exporter_config> exporters_;
    scrape::scraper& scraper_;
    std::size_t max_body_bytes_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
};

}  // namespace mgw::apps
