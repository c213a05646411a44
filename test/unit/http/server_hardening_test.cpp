// What a hostile client cannot make the server do, over a loopback socket: add series to the
// gateway's own metrics, forge or bloat access log lines, pin an answer's memory by not
// reading it, or push the process past its memory ceiling.
#include <atomic>
#include <chrono>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <mgw/core/memory_budget.hpp>

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

// 8 MiB: more than loopback socket buffers take, so a client that does not read blocks it.
const std::string big_body(8u << 20, 'b');

router hardening_routes(std::atomic<int>& stream_ended) {
    router r;
    r.add(verb::get, "/hello", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("hello");
        co_return;
    });
    r.add(verb::get, "/big", [](request_context&, response& res) -> net::awaitable<void> {
        res.set("Content-Type", "text/plain");
        res.body(big_body);
        co_return;
    });
    // A stream without a request deadline (like an event stream), writing until cut off.
    r.add(
        verb::get, "/stream",
        [&stream_ended](request_context&, response& res) -> net::awaitable<void> {
            res.compression(false);
            const std::string chunk(64 * 1024, 's');
            for (;;) {
                if (co_await res.write_chunk(chunk)) {
                    ++stream_ended;
                    co_return;
                }
            }
        },
        mgw::http::route_options("/stream", {}, std::chrono::steady_clock::duration::zero()));
    r.add(verb::post, "/echo", [](request_context& ctx, response& res) -> net::awaitable<void> {
        res.body(std::to_string(ctx.body().size()));
        co_return;
    });
    return r;
}

std::size_t series_of(prometheus::Registry& registry, const std::string& family_name) {
    for (const auto& family : registry.Collect()) {
        if (family.name == family_name) {
            return family.metric.size();
        }
    }
    return 0;
}

}  // namespace

TEST_CASE("hardening: client-chosen methods do not become label values") {
    std::atomic<int> ended{0};
    test_server s(hardening_routes(ended));
    raw_client c(s.port());
    for (int i = 0; i < 50; ++i) {
        std::string method = "M";
        method += std::to_string(i * 7919);
        method += 'X';
        c.send(request(method, "/hello"));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->result_int() == 405);
    }
    CHECK(eventually([&] {
        return s.metric("mgw_http_requests_total",
                        {{"route", "unmatched"}, {"method", "other"}, {"code", "405"}}) == 50;
    }));
    CHECK(series_of(s.registry(), "mgw_http_requests_total") == 1);
}

TEST_CASE("hardening: the access log keeps what a client sent short and on one line") {
    std::atomic<int> ended{0};
    test_server s(hardening_routes(ended));
    raw_client c(s.port());
    const std::string long_query(10'000, 'q');
    c.send(request("GET", "/hello?" + long_query));
    REQUIRE(c.read_response());
    CHECK(eventually([&] { return s.log_text().find("http request") != std::string::npos; }));
    const std::string log = s.log_text();
    CHECK(log.find(long_query) == std::string::npos);
    CHECK(log.find("/hello?" + std::string(2041, 'q') + "...") != std::string::npos);
}

TEST_CASE("hardening: a client that does not read a complete answer is cut off") {
    server_options o;
    o.write_timeout = 300ms;
    o.request_timeout = 60s;
    std::atomic<int> ended{0};
    test_server s(hardening_routes(ended), o);
    raw_client c(s.port(), 10s);
    c.send(request("GET", "/big"));
    // Never reads: the server's write stalls once the socket buffers are full.
    CHECK(eventually(
        [&] {
            return s.metric("mgw_http_rejected_total", {{"reason", "write_timeout"}}) == 1;
        },
        10s));
    CHECK(eventually([&] { return s.server().open_connections() == 0; }, 5s));
    // Everyone else is served.
    raw_client other(s.port());
    other.send(request("GET", "/hello"));
    auto res = other.read_response();
    REQUIRE(res);
    CHECK(res->body() == "hello");
}

TEST_CASE("hardening: a stream with no request deadline is cut off when not read") {
    server_options o;
    o.write_timeout = 300ms;
    std::atomic<int> ended{0};
    test_server s(hardening_routes(ended), o);
    raw_client c(s.port(), 10s);
    c.send(request("GET", "/stream"));
    CHECK(eventually([&] { return ended == 1; }, 10s));
    CHECK(s.metric("mgw_http_rejected_total", {{"reason", "write_timeout"}}) == 1);
    CHECK(eventually([&] { return s.server().open_connections() == 0; }, 5s));
}

TEST_CASE("hardening: an answer over the memory ceiling is a 503 for that client only") {
    mgw::core::memory_budget budget(4u << 20);
    std::atomic<int> ended{0};
    test_server s(hardening_routes(ended), {}, &budget);
    raw_client c(s.port());
    c.send(request("GET", "/big"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 503);
    CHECK((*res)["Retry-After"] == "1");
    CHECK(res->body() == "503 memory limit reached: no room for the answer, retry later\n");
    CHECK(budget.refusals(mgw::core::memory_use::http_answer) == 1);
    // The connection and everyone else go on.
    c.send(request("GET", "/hello"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "hello");
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "memory"}}) == 1;
    }));
}

TEST_CASE("hardening: a request body over the memory ceiling is a 503 before it is read") {
    mgw::core::memory_budget budget(256u << 10);
    std::atomic<int> ended{0};
    server_options o;
    o.body_limit = 8u << 20;
    test_server s(hardening_routes(ended), o, &budget);
    raw_client c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 503);
    CHECK((*res)["Retry-After"] == "1");
    CHECK(res->body() == "503 memory limit reached: no room for the request, retry later\n");
    CHECK(c.closed_within(2s));
    CHECK(eventually([&] { return budget.leased() == 0; }));
    raw_client other(s.port());
    other.send(request("POST", "/echo", {}, std::string(1000, 'x')));
    res = other.read_response();
    REQUIRE(res);
    CHECK(res->body() == "1000");
}
