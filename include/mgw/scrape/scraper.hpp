// Scrape module: the fan-out. Fetches every instance of an app concurrently, bounded by a
// global concurrency limit, each within the request's deadline, reusing pooled connections.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <mgw/core/log.hpp>
#include <mgw/scrape/concurrency_limit.hpp>
#include <mgw/scrape/connection_pool.hpp>
#include <mgw/scrape/result.hpp>
#include <mgw/scrape/target.hpp>
#include <mgw/scrape/tls.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::scrape {

struct scraper_config {
    std::size_t max_concurrency = 512;  // scrape.max_concurrency, shared by all fan-outs
    pool_limits pool;
    tls_options tls;
    std::string user_agent = "metrics-gateway";
};

class scraper {
  public:
    // Throws on TLS misconfiguration (startup only). `executor` runs the scrapes.
    scraper(boost::asio::any_io_executor executor, const scraper_config& config, core::logger& log,
            prometheus::Registry& registry);
    ~scraper();
    scraper(const scraper&) = delete;
    scraper& operator=(const scraper&) = delete;

    // One result per target, in the targets' order. Completes when every target finished or
    // options.deadline passed (late ones are reported as timeout). Cancelling the awaiting
    // coroutine (terminal cancellation, the awaitable default) cancels all outstanding
    // fetches; they are reported as `cancelled`. `targets` and `options` must outlive the call,
    // the scraper every fan-out it runs (frames destroyed by io_context shutdown are safe).
    boost::asio::awaitable<std::vector<scrape_result>> scrape_all(
        std::span<const scrape_target> targets, const scrape_request_options& options,
        scrape_completion on_complete = {});

    // Same rules for a single target.
    boost::asio::awaitable<scrape_result> scrape_one(const scrape_target& target,
                                                     const scrape_request_options& options);

    std::size_t idle_connections() const { return pool_.idle_count(); }
    std::size_t in_flight() const { return limit_.in_use(); }

  private:
    struct metrics;
    struct fetch_state;

    boost::asio::awaitable<scrape_result> scrape_and_report(const scrape_target& target,
                                                            std::size_t index,
                                                            const scrape_request_options& options,
                                                            const scrape_completion& on_complete);

    boost::asio::awaitable<scrape_result> limited_fetch(const scrape_target& target,
                                                        const scrape_request_options& options,
                                                        fetch_state& state);
    boost::asio::awaitable<scrape_result> fetch(const scrape_target& target,
                                                const scrape_request_options& options,
                                                fetch_state& state);
    boost::asio::awaitable<std::unique_ptr<connection>> connect(const endpoint_key& key,
                                                                fetch_state& state,
                                                                boost::system::error_code& ec);
    void record(const scrape_result& result);

    boost::asio::any_io_executor executor_;
    scraper_config config_;
    core::logger& log_;
    boost::asio::ssl::context tls_context_;
    connection_pool pool_;
    concurrency_limit limit_;
    std::unique_ptr<metrics> metrics_;
};

}  // namespace mgw::scrape
