// Structured shutdown: idle connections close at once, in-flight requests finish before the
// deadline, handlers past the deadline are cancelled.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using mgw::http::request_context;
using mgw::http::response;
using mgw::http::router;
using mgw::http::server_options;
using mgw::http::verb;
using mgw::http::test::eventually;
using mgw::http::test::raw_client;
using mgw::http::test::request;
using mgw::http::test::test_server;

struct probe {
    std::atomic<int> started{0};
    std::atomic<bool> cancelled{false};
    std::atomic<int> cancellation_type{0};
};

router drain_routes(probe& p) {
    router r;
    r.add(verb::get, "/fast", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("fast");
        co_return;
    });
    r.add(verb::get, "/slow", [&p](request_context&, response& res) -> net::awaitable<void> {
        ++p.started;
        net::steady_timer timer(co_await net::this_coro::executor, 300ms);
        co_await timer.async_wait(net::use_awaitable);
        res.body("slow done");
    });
    r.add(verb::get, "/forever", [&p](request_context& ctx, response&) -> net::awaitable<void> {
        ++p.started;
        net::steady_timer timer(co_await net::this_coro::executor, 30s);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        p.cancellation_type = static_cast<int>(ctx.cancellation_requested());
        p.cancelled = ec == net::error::operation_aborted;
    });
    // Opts in to total cancellation to wrap up with a partial answer (Beast flex style).
    r.add(verb::get, "/wrap-up", [&p](request_context& ctx, response& res) -> net::awaitable<void> {
        // One filter for both directions: total reaches the awaited timer too.
        co_await net::this_coro::reset_cancellation_state(net::enable_total_cancellation());
        ++p.started;
        net::steady_timer timer(co_await net::this_coro::executor, 30s);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        p.cancellation_type = static_cast<int>(ctx.cancellation_requested());
        res.body(ec == net::error::operation_aborted ? "wrapped up" : "finished");
    });
    return r;
}

}  // namespace

TEST_CASE("drain lets an in-flight request finish and closes idle connections at once") {
    probe p;
    test_server s(drain_routes(p));
    raw_client idle(s.port());
    idle.send(request("GET", "/fast"));
    REQUIRE(idle.read_response());
    raw_client busy(s.port());
    busy.send(request("GET", "/slow"));
    REQUIRE(eventually([&] { return p.started == 1; }));

    auto drained = std::async(std::launch::async,
                              [&] { return s.drain(std::chrono::steady_clock::now() + 3s); });
    // Closed while the slow handler (300 ms) still runs.
    CHECK(idle.closed_within(250ms));

    auto res = busy.read_response();
    REQUIRE(res);
    CHECK(res->body() == "slow done");
    CHECK_FALSE(res->keep_alive());
    CHECK(busy.closed_within(1s));
    CHECK(drained.get());
    CHECK(s.server().open_connections() == 0);
    // No new connection is accepted once draining started.
    CHECK_THROWS(raw_client(s.port()).send(request("GET", "/fast")));
}

TEST_CASE("drain cancels handlers still running at the deadline") {
    server_options o;
    o.cancel_grace = 200ms;
    probe p;
    test_server s(drain_routes(p), o);
    raw_client c(s.port());
    c.send(request("GET", "/forever"));
    REQUIRE(eventually([&] { return p.started == 1; }));

    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(s.drain(start + 200ms));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 200ms);
    CHECK(took < 2s);
    // The default handler state filters total cancellation: the terminal one ends it.
    CHECK(eventually([&] { return p.cancelled.load(); }));
    CHECK(p.cancellation_type == static_cast<int>(net::cancellation_type::terminal));
    CHECK(c.closed_within(1s));
    CHECK(s.server().open_connections() == 0);
}

TEST_CASE("drain gives handlers that accept total cancellation a chance to wrap up") {
    server_options o;
    o.cancel_grace = 1s;
    probe p;
    test_server s(drain_routes(p), o);
    raw_client c(s.port());
    c.send(request("GET", "/wrap-up"));
    REQUIRE(eventually([&] { return p.started == 1; }));

    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(s.drain(start + 100ms));
    // Finished inside the grace period, well before the terminal step.
    CHECK(std::chrono::steady_clock::now() - start < 900ms);
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "wrapped up");
    CHECK_FALSE(res->keep_alive());
    CHECK(p.cancellation_type == static_cast<int>(net::cancellation_type::total));
}
