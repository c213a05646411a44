// Request framing over a loopback socket (RFC 9112 §2.2, §3.2, §5, §6): every message whose
// length two parsers could read differently is refused with 400 (or 501) and the connection
// closed, so that no byte of it is ever read as a second request (request smuggling).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using mgw::http::request_context;
using mgw::http::response;
using mgw::http::router;
using mgw::http::verb;
using mgw::http::test::eventually;
using mgw::http::test::raw_client;
using mgw::http::test::test_server;

// What a second, smuggled request would reach: a route that must never answer in these tests.
router framing_routes(std::atomic<int>& smuggled) {
    router r;
    r.add(verb::post, "/echo", [](request_context& ctx, response& res) -> net::awaitable<void> {
        res.body("echo " + std::to_string(ctx.body().size()));
        co_return;
    });
    r.add(verb::post, "/whoami", [](request_context& ctx, response& res) -> net::awaitable<void> {
        res.body(std::string(ctx.header("Authorization").value_or("-")) + " " +
                 std::string(ctx.header("Host").value_or("-")));
        co_return;
    });
    r.add(verb::get, "/hello", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("hello");
        co_return;
    });
    r.add(verb::get, "/secret",
          [&smuggled](request_context&, response& res) -> net::awaitable<void> {
              ++smuggled;
              res.body("secret");
              co_return;
          });
    return r;
}

std::string fmt_hex(std::size_t n) {
    char text[32];
    std::snprintf(text, sizeof text, "%zx", n);
    return text;
}

constexpr std::string_view smuggled_request =
    "GET /secret HTTP/1.1\r\nHost: t\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n";

// Sends `bytes` and expects exactly one answer with `status`, then the connection closed,
// and that no handler saw a smuggled request.
void expect_refused(std::string_view bytes, unsigned status = 400) {
    std::atomic<int> smuggled{0};
    test_server s(framing_routes(smuggled));
    raw_client c(s.port());
    c.send(bytes);
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == status);
    CHECK_FALSE(res->keep_alive());
    CHECK(c.closed_within(2s));
    CHECK(smuggled == 0);
    CHECK(eventually([&] {
        return s.metric("mgw_http_rejected_total", {{"reason", "bad_request"}}) == 1 ||
               s.metric("mgw_http_rejected_total", {{"reason", "not_implemented"}}) == 1;
    }));
}

std::string post_with(std::string_view fields, std::string_view body) {
    std::string out = "POST /echo HTTP/1.1\r\nHost: t\r\n";
    out.append(fields).append("\r\n").append(body);
    return out;
}

}  // namespace

TEST_CASE("framing: the smuggling attempt of issue 10 gets one 400 and a closed connection") {
    // A front end that takes `xchunked` for chunked forwards one request; a server that
    // ignores the unknown coding reads its body as a second request with the credentials.
    const std::string chunk = std::string(smuggled_request);
    std::string body;
    body += fmt_hex(chunk.size());
    body += "\r\n" + chunk + "\r\n0\r\n\r\n";
    expect_refused(post_with("Transfer-Encoding: xchunked\r\n", body));
}

TEST_CASE("framing: Transfer-Encoding other than a final chunked is refused") {
    // Not chunked at the end: the length cannot be known (RFC 9112 §6.1): 400.
    expect_refused(post_with("Transfer-Encoding: chunked, identity\r\n", smuggled_request));
    expect_refused(post_with("Transfer-Encoding: gzip\r\n", smuggled_request));
    expect_refused(post_with("Transfer-Encoding: identity\r\n", smuggled_request));
    expect_refused(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                             smuggled_request));
    expect_refused(post_with("Transfer-Encoding: \r\n", smuggled_request));
    // chunked twice is never valid.
    expect_refused(post_with("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"));
    // A coding the server does not implement before the final chunked: 501, closed.
    expect_refused(post_with("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501);
    expect_refused(
        post_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 501);
    // HTTP/1.0 has no transfer codings (RFC 9112 §6.1: faulty framing).
    expect_refused("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                   std::string(smuggled_request));
}

TEST_CASE("framing: Content-Length conflicts are refused") {
    expect_refused(post_with("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                             "0\r\n\r\n" + std::string(smuggled_request)));
    expect_refused(post_with("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                             "0\r\n\r\n" + std::string(smuggled_request)));
    expect_refused(post_with("Content-Length: 0\r\nContent-Length: 5\r\n",
                             "abcde" + std::string(smuggled_request)));
    // Identical duplicates too: two parsers may still disagree on which line counts.
    expect_refused(post_with("Content-Length: 5\r\nContent-Length: 5\r\n", "abcde"));
    expect_refused(post_with("Content-Length: 5, 5\r\n", "abcde"));
    expect_refused(post_with("Content-Length: +5\r\n", "abcde"));
    expect_refused(post_with("Content-Length: 0x5\r\n", "abcde"));
}

TEST_CASE("framing: Host must be present once and valid") {
    expect_refused("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost: a@b\r\n\r\n");
}

TEST_CASE("framing: obs-fold and whitespace before the colon are refused") {
    expect_refused("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\r\n\tb\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\n Host: t\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\r\nHost : t\r\n\r\n");
    expect_refused(post_with("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n"));
}

TEST_CASE("framing: bare CR or LF line endings are refused") {
    expect_refused("GET /hello HTTP/1.1\r\nHost: t\rX-A: b\r\n\r\n");
    expect_refused("GET /hello HTTP/1.1\nHost: t\n\n");
}

TEST_CASE("framing: empty lines before a request line are ignored") {
    std::atomic<int> smuggled{0};
    test_server s(framing_routes(smuggled));
    raw_client c(s.port());
    c.send("\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->body() == "hello");
    // Also between keep-alive requests (a client that ends a body with an extra CRLF).
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab\r\n");
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "echo 2");
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "hello");
}

TEST_CASE("framing: a valid chunked body is read whole and the next request follows") {
    std::atomic<int> smuggled{0};
    test_server s(framing_routes(smuggled));
    raw_client c(s.port());
    c.send(post_with("Transfer-Encoding: Chunked\r\n", "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n") +
           "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "echo 5");
    res = c.read_response();
    REQUIRE(res);
    CHECK(res->body() == "hello");
}

TEST_CASE("framing: trailer fields do not reach handlers as header fields") {
    std::atomic<int> smuggled{0};
    test_server s(framing_routes(smuggled));
    raw_client c(s.port());
    c.send(
        "POST /whoami HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nhi\r\n0\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nHost: evil\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res);
    CHECK(res->result_int() == 200);
    CHECK(res->body() == "- t");
}
