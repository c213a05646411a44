// Shared setup for scraper tests: one io_context, a registry, a quiet logger, and a bounded
// way to run a coroutine to completion on it.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/scrape/scraper.hpp>

namespace mgw::scrape::test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct scraper_fixture {
    boost::asio::io_context io;
    prometheus::Registry registry;
    core::logger log{core::log_level::error};

    std::unique_ptr<scraper> make_scraper(const scraper_config& config = {}) {
        return std::make_unique<scraper>(io.get_executor(), config, log, registry);
    }

    // Runs `task` until it completes, at most `limit` of wall time.
    template <typename T>
    T run(boost::asio::awaitable<T> task, std::chrono::seconds limit = 20s) {
        std::optional<T> value;
        std::exception_ptr error;
        bool done = false;
        boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) {
                value = std::move(v);
            }
            done = true;
        });
        io.restart();
        const auto until = clock_type::now() + limit;
        while (!done && clock_type::now() < until) {
            io.run_one_until(until);
        }
        REQUIRE(done);
        if (error) {
            std::rethrow_exception(error);
        }
        return std::move(*value);
    }

    std::vector<scrape_result> scrape(scraper& s, const std::vector<scrape_target>& targets,
                                      const scrape_request_options& options) {
        return run(s.scrape_all(targets, options));
    }
};

inline scrape_target local_target(std::uint16_t port, std::string path = "/metrics") {
    scrape_target t;
    t.host = "127.0.0.1";
    t.port = port;
    t.path = std::move(path);
    return t;
}

inline scrape_request_options options_for(std::chrono::milliseconds timeout = 5000ms) {
    scrape_request_options o;
    o.deadline = clock_type::now() + timeout;
    o.accept = "text/plain; version=0.0.4; charset=utf-8";
    return o;
}

}  // namespace mgw::scrape::test
