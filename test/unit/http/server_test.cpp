// The server on a loopback port: routing, keep-alive, pipelining, limits, timeouts, HEAD,
// HTTP/1.0, metrics and the access log.
#include <atomic>
#include <chrono>
#include <string>

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

net::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
    net::steady_timer timer(co_await net::this_coro::executor, d);
    co_await timer.async_wait(net::use_awaitable);
}

router basic_routes() {
    router r;
    r.add(verb::get, "/hello", [](request_context& ctx, response& res) -> net::awaitable<void> {
        res.set("Content-Type", "text/plain");
        res.body("hello " + std::string(ctx.query("name").value_or("world")));
        co_return;
    });
    // Answers after `ms` milliseconds with its own name, to prove the order of answers.
    r.add_prefix(verb::get, "/sleep/",
                 [](request_context& ctx, response& res) -> net::awaitable<void> {
                     auto ms = std::stoi(std::string(ctx.path().substr(7)));
                     co_await sleep_for(std::chrono::milliseconds(ms));
                     res.body("slept " + std::to_string(ms));
                 });
    r.add(verb::post, "/echo", [](request_context& ctx, response& res) -> net::awaitable<void> {
        res.body(std::to_string(ctx.body().size()) + " " +
                 std::string(ctx.header("X-Tag").value_or("-")));
        co_return;
    });
    r.add(
        verb::post, "/small",
        [](request_context& ctx, response& res) -> net::awaitable<void> {
            res.body(std::to_string(ctx.body().size()));
            co_return;
        },
        mgw::http::route_options("small", 10));
    return r;
}

}  // namespace

TEST_CASE("server answers a route, 404 and 405") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send(request("GET", "/hello?name=gateway"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->body() == "hello gateway");
    CHECK((*res)["Content-Type"] == "text/plain");
    CHECK(res->keep_alive());

    c.send(request("GET", "/nope"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 404);
    CHECK(res->body() == "404 page not found\n");

    c.send(request("DELETE", "/hello"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 405);
    CHECK((*res)["Allow"] == "GET, HEAD");

    CHECK(eventually([&] {
        return s.metric("mgw_http_requests_total",
                        {{"route", "/hello"}, {"method", "GET"}, {"code", "200"}}) == 1;
    }));
    CHECK(eventually([&] {
        return s.metric("mgw_http_requests_total", {{"route", "unmatched"}, {"code", "404"}}) == 1;
    }));
    CHECK(eventually([&] {
        return s.metric("mgw_http_request_duration_seconds", {{"route", "/hello"}}) == 1;
    }));
    CHECK(eventually([&] { return s.metric("mgw_http_open_connections", {}) == 1; }));
}

TEST_CASE("server keeps a connection alive across requests") {
    test_server s(basic_routes());
    raw_client c(s.port());
    for (int i = 0; i < 5; ++i) {
        c.send(request("GET", "/hello?name=" + std::to_string(i)));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->body() == "hello " + std::to_string(i));
    }
    c.send(request("POST", "/echo", "X-Tag: t1\r\n", "abcdef"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "6 t1");
    CHECK(eventually([&] {
        return s.metric("mgw_http_requests_total", {{"route", "/hello"}}) == 5;
    }));
}

TEST_CASE("server answers pipelined requests in order") {
    test_server s(basic_routes());
    raw_client c(s.port());
    // The first is the slowest: answers must still come in request order.
    c.send(request("GET", "/sleep/150") + request("GET", "/sleep/10") +
           request("GET", "/hello?name=third"));
    auto a = c.read_response();
    auto b = c.read_response();
    auto d = c.read_response();
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(d);
    CHECK(a->body() == "slept 150");
    CHECK(b->body() == "slept 10");
    CHECK(d->body() == "hello third");
}

TEST_CASE("server bounds the read-ahead of pipelined requests") {
    server_options o;
    o.max_pipelined = 2;
    test_server s(basic_routes(), o);
    raw_client c(s.port());
    std::string burst;
    for (int i = 0; i < 6; ++i) {
        burst += request("GET", "/sleep/20");
    }
    c.send(burst);
    for (int i = 0; i < 6; ++i) {
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->body() == "slept 20");
    }
}

TEST_CASE("server rejects oversized headers with 431") {
    server_options o;
    o.header_limit = 1024;
    test_server s(basic_routes(), o);
    raw_client c(s.port());
    c.send(request("GET", "/hello", "X-Big: " + std::string(2000, 'a') + "\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 431);
    CHECK_FALSE(res->keep_alive());
    CHECK(c.closed_within(1s));
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "header_too_large"}}) == 1;
    }));
}

TEST_CASE("server applies the body limit of each route with 413") {
    test_server s(basic_routes());
    {
        raw_client c(s.port());
        c.send(request("POST", "/small", {}, std::string(11, 'x')));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->result_int() == 413);
        CHECK(c.closed_within(1s));
    }
    {
        // Chunked bodies have no Content-Length: the limit stops the parser instead.
        raw_client c(s.port());
        c.send(
            "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->result_int() == 413);
    }
    {
        raw_client c(s.port());
        c.send(request("POST", "/small", {}, std::string(10, 'x')));
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->body() == "10");
        c.send(request("POST", "/echo", {}, std::string(100'000, 'x')));
        res = c.read_response();
        REQUIRE(res);
        CHECK(res->body() == "100000 -");
    }
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "body_too_large"}}) == 2;
    }));
}

TEST_CASE("server answers malformed requests with 400") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 400);
    CHECK(c.closed_within(1s));

    raw_client d(s.port());
    d.send("GET http//x HTTP/1.1\r\nHost: x\r\n\r\n");
    res = d.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 400);

    raw_client e(s.port());
    e.send("GET /hello HTTP/1.1\r\n\r\n");
    res = e.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 400);
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "bad_request"}}) == 3;
    }));
}

TEST_CASE("server closes idle keep-alive connections") {
    server_options o;
    o.idle_timeout = 200ms;
    test_server s(basic_routes(), o);
    raw_client c(s.port());
    c.send(request("GET", "/hello"));
    REQUIRE(c.read_response());
    const auto start = std::chrono::steady_clock::now();
    CHECK(c.closed_within(2s));
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= 150ms);
    CHECK(waited < 1500ms);
}

TEST_CASE("server cancels a handler past the request timeout and answers 503") {
    server_options o;
    o.request_timeout = 200ms;
    std::atomic<bool> cancelled{false};
    router r;
    r.add(verb::get, "/slow", [&](request_context& ctx, response& res) -> net::awaitable<void> {
        net::steady_timer timer(co_await net::this_coro::executor, 10s);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        cancelled = ctx.cancelled() && ec == net::error::operation_aborted;
        res.body("too late");
    });
    test_server s(std::move(r), o);
    raw_client c(s.port());
    c.send(request("GET", "/slow"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 503);
    CHECK(cancelled);
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "request_timeout"}}) == 1;
    }));
}

TEST_CASE("server cancels the handler when the client disconnects") {
    std::atomic<bool> started{false};
    std::atomic<bool> cancelled{false};
    router r;
    r.add(verb::get, "/wait", [&](request_context& ctx, response&) -> net::awaitable<void> {
        started = true;
        net::steady_timer timer(co_await net::this_coro::executor, 10s);
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        cancelled = ctx.cancelled() && ec == net::error::operation_aborted;
    });
    test_server s(std::move(r));
    {
        raw_client c(s.port());
        c.send(request("GET", "/wait"));
        for (int i = 0; i < 200 && !started; ++i) {
            std::this_thread::sleep_for(5ms);
        }
        REQUIRE(started);
    }
    for (int i = 0; i < 200 && !cancelled; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    CHECK(cancelled);
}

TEST_CASE("server answers HEAD with the GET route's fields and no body") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send(request("HEAD", "/hello"));
    auto res = c.read_response(true);
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK((*res)["Content-Length"] == "11");
    CHECK(res->body().empty());
    // Had a body been sent, it would now be parsed as the next response's status line.
    c.send(request("GET", "/hello?name=after"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "hello after");
}

TEST_CASE("server speaks HTTP/1.0: close by default, keep-alive on request") {
    test_server s(basic_routes());
    {
        raw_client c(s.port());
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->version() == 10);
        CHECK(res->body() == "hello world");
        CHECK(c.closed_within(1s));
    }
    {
        raw_client c(s.port());
        c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        auto res = c.read_response();
        REQUIRE(res);
        CHECK(res->keep_alive());
        c.send("GET /hello?name=again HTTP/1.0\r\n\r\n");
        res = c.read_response();
        REQUIRE(res);
        CHECK(res->body() == "hello again");
    }
}

TEST_CASE("server honours Connection: close") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send(request("GET", "/hello", "Connection: close\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK_FALSE(res->keep_alive());
    CHECK(c.closed_within(1s));
}

TEST_CASE("server closes connections beyond max_connections") {
    server_options o;
    o.max_connections = 1;
    test_server s(basic_routes(), o);
    raw_client first(s.port());
    first.send(request("GET", "/hello"));
    REQUIRE(first.read_response());
    raw_client second(s.port());
    CHECK(second.closed_within(1s));
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "too_many_connections"}}) == 1;
    }));
    first.send(request("GET", "/hello"));
    CHECK(first.read_response());
}

TEST_CASE("server writes an access log line per request") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send(request("GET", "/hello?name=log"));
    REQUIRE(c.read_response());
    CHECK(eventually([&] { return s.log_text().find("http request") != std::string::npos; }));
    const auto text = s.log_text();
    CHECK(text.find("\"uri\":\"/hello?name=log\"") != std::string::npos);
    CHECK(text.find("\"status\":200") != std::string::npos);
    CHECK(text.find("\"bytes\":9") != std::string::npos);
    CHECK(text.find("\"remote\":\"127.0.0.1:") != std::string::npos);
}

TEST_CASE("request_context exposes the request") {
    router r;
    r.add_prefix(verb::post, "/ctx/",
                 [](request_context& ctx, response& res) -> net::awaitable<void> {
                     std::string out;
                     out += std::string(ctx.method_string()) + "|" + std::string(ctx.target()) +
                            "|" + ctx.path() + "|";
                     for (const auto& [k, v] : ctx.query()) {
                         out += k + "=" + v + ";";
                     }
                     out += "|" + std::string(ctx.header("x-CASE").value_or("none"));
                     out += "|" + std::string(ctx.header("X-Absent").value_or("none"));
                     out += "|" + ctx.body();
                     out += "|" + ctx.remote().address().to_string();
                     const auto left = ctx.deadline() - std::chrono::steady_clock::now();
                     out += left > 20s && left <= 30s ? "|deadline ok" : "|deadline wrong";
                     out += ctx.cancelled() ? "|cancelled" : "|live";
                     res.body(out);
                     co_return;
                 });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(request("POST", "/ctx/a%20b?x=1&x=2&y=%C3%A9", "X-Case: Mixed\r\n", "payload"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() ==
          "POST|/ctx/a%20b?x=1&x=2&y=%C3%A9|/ctx/a b|x=1;x=2;y=\xC3\xA9;|Mixed|none|payload|"
          "127.0.0.1|deadline ok|live");
}

TEST_CASE("server answers 500 when a handler throws and keeps the connection") {
    router r = basic_routes();
    r.add(verb::get, "/throw", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("partial");
        throw std::runtime_error("boom");
        co_return;
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(request("GET", "/throw"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 500);
    CHECK(res->body() == "internal server error\n");
    c.send(request("GET", "/hello"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(eventually([&] { return s.log_text().find("boom") != std::string::npos; }));
    CHECK(eventually([&] {
        return s.metric("mgw_http_requests_total", {{"route", "/throw"}, {"code", "500"}}) == 1;
    }));
}

TEST_CASE("server answers Expect: 100-continue before reading the body") {
    test_server s(basic_routes());
    raw_client c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    auto interim = c.read_response();
    REQUIRE(interim);
    CHECK(interim->result_int() == 100);
    c.send("abcde");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "5 -");

    // Too large for the route: refused without waiting for the body.
    c.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n");
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 413);
}

TEST_CASE("server bounds slow headers and slow bodies by the request timeout") {
    server_options o;
    o.idle_timeout = 1s;
    o.request_timeout = 150ms;
    test_server s(basic_routes(), o);
    const auto timed_out = [&](double n) {
        return eventually([&] {
            return s.metric("mgw_http_rejected_total", {{"reason", "request_timeout"}}) == n;
        });
    };
    {
        raw_client c(s.port());
        const auto start = std::chrono::steady_clock::now();
        c.send("GET /hello HTTP/1.1\r\nHost:");
        CHECK(c.closed_within(2s));
        // Well before the idle timeout, which bounded trickled heads before this was fixed.
        CHECK(std::chrono::steady_clock::now() - start < 800ms);
        CHECK(timed_out(1));
    }
    {
        raw_client c(s.port());
        const auto start = std::chrono::steady_clock::now();
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
        CHECK(c.closed_within(2s));
        // Well before the idle timeout, which bounded slow bodies before this was fixed.
        CHECK(std::chrono::steady_clock::now() - start < 800ms);
        CHECK(timed_out(2));
    }
}
