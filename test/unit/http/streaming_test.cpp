// Streamed (chunked) responses and gzip content coding, complete and streamed.
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <mgw/compression/gzip.hpp>

#include "test_support.hpp"

namespace {

namespace net = boost::asio;
using mgw::http::request_context;
using mgw::http::response;
using mgw::http::router;
using mgw::http::verb;
using mgw::http::test::raw_client;
using mgw::http::test::request;
using mgw::http::test::test_server;

std::string line(int i) {
    return "metric_" + std::to_string(i) + "{a=\"b\"} " + std::to_string(i) + "\n";
}

std::string expected_stream(int lines) {
    std::string out;
    for (int i = 0; i < lines; ++i) {
        out += line(i);
    }
    return out;
}

router streaming_routes() {
    router r;
    r.add(verb::get, "/stream", [](request_context&, response& res) -> net::awaitable<void> {
        res.set("Content-Type", "text/plain; version=0.0.4");
        for (int i = 0; i < 2000; ++i) {
            if (auto ec = co_await res.write_chunk(line(i))) {
                co_return;
            }
        }
        co_await res.finish();
    });
    // Leaves finishing the stream to the server.
    r.add(verb::get, "/stream-unfinished",
          [](request_context&, response& res) -> net::awaitable<void> {
              co_await res.write_chunk("one\n");
              co_await res.write_chunk("two\n");
          });
    // A long-lived stream: no request deadline, a pause between chunks.
    r.add(
        verb::get, "/events",
        [](request_context&, response& res) -> net::awaitable<void> {
            net::steady_timer timer(co_await net::this_coro::executor);
            for (int i = 0; i < 4; ++i) {
                co_await res.write_chunk(line(i));
                timer.expires_after(std::chrono::milliseconds(100));
                co_await timer.async_wait(net::use_awaitable);
            }
        },
        mgw::http::route_options("events", {}, std::chrono::steady_clock::duration::zero()));
    r.add(verb::get, "/plain-stream", [](request_context&, response& res) -> net::awaitable<void> {
        res.compression(false);
        for (int i = 0; i < 50; ++i) {
            co_await res.write_chunk(line(i));
        }
    });
    r.add(verb::get, "/big", [](request_context&, response& res) -> net::awaitable<void> {
        res.body(expected_stream(500));
        co_return;
    });
    r.add(verb::get, "/tiny", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("tiny");
        co_return;
    });
    return r;
}

std::string gunzip(const std::string& data) {
    std::string out;
    auto status = mgw::compression::gzip_decompress(data, 64 * 1024 * 1024, out);
    REQUIRE(status == mgw::compression::gzip_status::done);
    return out;
}

}  // namespace

TEST_CASE("streamed response arrives chunked and intact") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send(request("GET", "/stream"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->chunked());
    CHECK((*res)["Content-Type"] == "text/plain; version=0.0.4");
    CHECK(res->body() == expected_stream(2000));
    // The connection stays usable after the last chunk.
    c.send(request("GET", "/stream-unfinished"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "one\ntwo\n");
}

TEST_CASE("streamed response to HTTP/1.0 is delimited by the close") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send("GET /stream HTTP/1.0\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK_FALSE(res->chunked());
    CHECK(res->body() == expected_stream(2000));
}

TEST_CASE("complete responses are gzipped when accepted and large enough") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send(request("GET", "/big", "Accept-Encoding: gzip, deflate\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK((*res)["Content-Encoding"] == "gzip");
    CHECK((*res)["Vary"] == "Accept-Encoding");
    CHECK(res->body().size() < expected_stream(500).size());
    CHECK(gunzip(res->body()) == expected_stream(500));

    c.send(request("GET", "/tiny", "Accept-Encoding: gzip\r\n"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->find("Content-Encoding") == res->end());
    CHECK(res->body() == "tiny");

    c.send(request("GET", "/big"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->find("Content-Encoding") == res->end());
    CHECK(res->body() == expected_stream(500));
}

TEST_CASE("streamed responses are gzipped when accepted") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send(request("GET", "/stream", "Accept-Encoding: gzip\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->chunked());
    CHECK((*res)["Content-Encoding"] == "gzip");
    CHECK(gunzip(res->body()) == expected_stream(2000));
}

TEST_CASE("HEAD on a streaming route sends the head only") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send(request("HEAD", "/stream"));
    auto res = c.read_response(true);
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->body().empty());
    c.send(request("GET", "/tiny"));
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "tiny");
}

TEST_CASE("a route without request deadline streams past the server's request_timeout") {
    mgw::http::server_options o;
    o.request_timeout = std::chrono::milliseconds(150);
    test_server s(streaming_routes(), o);
    raw_client c(s.port());
    c.send(request("GET", "/events"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == expected_stream(4));
    CHECK(res->keep_alive());
}

TEST_CASE("a stream can turn compression off") {
    test_server s(streaming_routes());
    raw_client c(s.port());
    c.send(request("GET", "/plain-stream", "Accept-Encoding: gzip\r\n"));
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->find("Content-Encoding") == res->end());
    CHECK(res->body() == expected_stream(50));
}
