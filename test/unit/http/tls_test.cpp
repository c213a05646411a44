// TLS listener: a self-signed certificate made with the openssl CLI, a Beast client over
// asio::ssl on its own io_context (bounded with run_for).
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using mgw::http::request_context;
using mgw::http::response;
using mgw::http::router;
using mgw::http::server_options;
using mgw::http::verb;
using mgw::http::test::test_server;

struct temp_dir {
    temp_dir() {
        char name[] = "/tmp/mgw-http-tls-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::filesystem::path path;
};

void make_self_signed(const std::filesystem::path& dir) {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -keyout " +
        (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
}

router tls_routes() {
    router r;
    r.add(verb::get, "/secure", [](request_context&, response& res) -> net::awaitable<void> {
        res.body("over tls");
        co_return;
    });
    r.add(verb::get, "/stream", [](request_context&, response& res) -> net::awaitable<void> {
        for (int i = 0; i < 100; ++i) {
            co_await res.write_chunk("line " + std::to_string(i) + "\n");
        }
    });
    return r;
}

struct client_result {
    std::string error;
    std::vector<bhttp::response<bhttp::string_body>> responses;
};

net::awaitable<void> fetch(std::uint16_t port, ssl::context& ctx, ssl::stream_base::handshake_type,
                           std::vector<std::string> targets, client_result& out) {
    auto executor = co_await net::this_coro::executor;
    ssl::stream<net::ip::tcp::socket> stream(executor, ctx);
    auto nothrow = net::as_tuple(net::use_awaitable);
    auto [ec] = co_await stream.next_layer().async_connect(
        {net::ip::make_address("127.0.0.1"), port}, nothrow);
    if (!ec) {
        std::tie(ec) = co_await stream.async_handshake(ssl::stream_base::client, nothrow);
    }
    boost::beast::flat_buffer buffer;
    for (const auto& target : targets) {
        if (ec) {
            break;
        }
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, "localhost");
        std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, req, nothrow);
        if (ec) {
            break;
        }
        bhttp::response<bhttp::string_body> res;
        std::tie(ec, std::ignore) = co_await bhttp::async_read(stream, buffer, res, nothrow);
        out.responses.push_back(std::move(res));
    }
    if (ec) {
        out.error = ec.message();
    }
}

client_result run_client(std::uint16_t port, std::vector<std::string> targets) {
    net::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);  // self-signed; the test is about the transport
    client_result result;
    net::co_spawn(io, fetch(port, ctx, ssl::stream_base::client, std::move(targets), result),
                  net::detached);
    io.run_for(std::chrono::seconds(5));
    return result;
}

}  // namespace

TEST_CASE("TLS listener serves complete and streamed responses") {
    temp_dir dir;
    make_self_signed(dir.path);
    server_options o;
    o.tls_cert_file = (dir.path / "cert.pem").string();
    o.tls_key_file = (dir.path / "key.pem").string();
    test_server s(tls_routes(), o);

    auto result = run_client(s.port(), {"/secure", "/stream", "/secure"});
    CHECK(result.error.empty());
    REQUIRE(result.responses.size() == 3);
    CHECK(result.responses[0].body() == "over tls");
    std::string expected;
    for (int i = 0; i < 100; ++i) {
        expected += "line " + std::to_string(i) + "\n";
    }
    CHECK(result.responses[1].chunked());
    CHECK(result.responses[1].body() == expected);
    CHECK(result.responses[2].body() == "over tls");
}

TEST_CASE("TLS listener refuses a missing certificate at startup") {
    temp_dir dir;
    server_options o;
    o.tls_cert_file = (dir.path / "missing.pem").string();
    o.tls_key_file = (dir.path / "missing-key.pem").string();
    CHECK_THROWS_AS(test_server(tls_routes(), o), std::runtime_error);
}
