// Load client for the RSocket proxy benchmarks: N prometheus-rsocket-client look-alikes over TCP,
// each serving S series. Answers the proxy's pulls with the Java client's crypto (raw Snappy,
// AES-128-ECB/PKCS#7, RSA-OAEP SHA-256/MGF1-SHA-1). The reply is encrypted once per received key
// and reused while the key stays the same, so the client's own CPU stays small next to the
// gateway's decryption (which is full RSA + AES + Snappy on every pull). All clients connect at
// once, as after a gateway restart or a load-balancer failover (the storm benchmark).
//
//   rsocket_load_client --port 7001 --clients 1000 --series 1000 [--families 50] [--bind ADDR]
//
// Prints "ready <n>" once every client has its key, then runs until stdin closes ("status"
// prints keyed clients and pulls answered).
//
// Flood mode: connect, send SETUP and close at once (with a reset, so no TIME_WAIT uses up the
// ports), `rate` times a second from one address, as a hostile or broken client would:
//
//   rsocket_load_client --port 7001 --flood 4500 --bind 127.0.0.2
//
// Runs until stdin closes; "status" prints the connects made and the ones that failed.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <mgw/rsocket/crypto.hpp>
#include <mgw/rsocket/frame.hpp>

#include "client_exposition.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace mgw::rsocket;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct settings {
    std::string host = "127.0.0.1";
    std::string bind;  // source address; empty: the kernel's choice
    std::uint16_t port = 7001;
    int clients = 1000;
    int series = 1000;
    int families = 50;
    int flood_rate = 0;  // connect-SETUP-close per second; 0: serve clients instead
};

std::atomic<int> keyed{0};
std::atomic<long> pulls{0};
std::atomic<long> flood_connects{0};
std::atomic<long> flood_failures{0};
int flood_in_flight = 0;  // on the one I/O thread only
constexpr int max_flood_in_flight = 2000;

std::string setup_frame() {
    frame f;
    f.type = frame_type::setup;
    f.setup.keepalive_ms = 20000;
    f.setup.max_lifetime_ms = 90000;
    f.setup.metadata_mime = "application/binary";
    f.setup.data_mime = "application/binary";
    std::string out;
    encode_frame(f, out, true);
    return out;
}

// Connects `socket` to the proxy, from `s.bind` when set.
asio::awaitable<boost::system::error_code> connect(tcp::socket& socket, const settings& s) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(s.host, ec);
    if (ec) {
        co_return ec;
    }
    const tcp::endpoint target(address, s.port);
    socket.open(target.protocol(), ec);
    if (!ec && !s.bind.empty()) {
        socket.set_option(asio::socket_base::reuse_address(true), ec);
        socket.bind(tcp::endpoint(asio::ip::make_address(s.bind), 0), ec);
    }
    if (ec) {
        co_return ec;
    }
    auto [connect_error] = co_await socket.async_connect(target, use_tuple);
    co_return connect_error;
}

asio::awaitable<void> flood_once(settings s) {
    auto executor = co_await asio::this_coro::executor;
    tcp::socket socket(executor);
    ++flood_in_flight;
    if (co_await connect(socket, s)) {
        ++flood_failures;
    } else {
        const std::string setup = setup_frame();
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(setup), use_tuple);
        ++(ec ? flood_failures : flood_connects);
        boost::system::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
    }
    --flood_in_flight;
}

// Starts rate / 100 connect-SETUP-close every 10 ms, at most `max_in_flight` at once.
asio::awaitable<void> run_flood(settings s) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer tick(executor);
    auto next = std::chrono::steady_clock::now();
    const int per_tick = std::max(1, s.flood_rate / 100);
    for (;;) {
        next += std::chrono::milliseconds(10);
        tick.expires_at(next);
        co_await tick.async_wait(use_tuple);
        for (int i = 0; i < per_tick && flood_in_flight < max_flood_in_flight; ++i) {
            asio::co_spawn(executor, flood_once(s), asio::detached);
        }
    }
}

asio::awaitable<void> run_client(int index, settings s) {
    auto executor = co_await asio::this_coro::executor;
    const std::string text = mgw::bench::rsocket_client_exposition(index, s.series, s.families);
    for (;;) {
        tcp::socket socket(executor);
        const boost::system::error_code cec = co_await connect(socket, s);
        if (cec) {
            asio::steady_timer t(executor, std::chrono::seconds(1));
            co_await t.async_wait(use_tuple);
            continue;
        }
        const std::string setup = setup_frame();
        co_await asio::async_write(socket, asio::buffer(setup), use_tuple);
        std::string key;
        std::optional<encrypted_reply> reply;
        bool counted = false;
        std::string buffer;
        std::string out;
        for (;;) {
            char prefix[3];
            auto [ec, n] = co_await asio::async_read(socket, asio::buffer(prefix), use_tuple);
            if (ec) {
                break;
            }
            buffer.resize(read_length_prefix(prefix));
            auto [bec, bn] = co_await asio::async_read(socket, asio::buffer(buffer), use_tuple);
            if (bec) {
                break;
            }
            frame f;
            if (!decode_frame(buffer, f)) {
                continue;
            }
            out.clear();
            if (f.type == frame_type::request_fnf || f.type == frame_type::request_response) {
                if (f.data != key) {
                    key.assign(f.data);
                    reply = encrypt_like_java_client(key, text);
                }
                if (!counted && reply) {
                    counted = true;
                    ++keyed;
                }
                if (f.type == frame_type::request_response && reply) {
                    frame answer;
                    answer.stream_id = f.stream_id;
                    answer.type = frame_type::payload;
                    answer.flags = flag::next | flag::complete | flag::metadata;
                    answer.metadata = reply->metadata;
                    answer.data = reply->data;
                    encode_frame(answer, out, true);
                    ++pulls;
                }
            } else if (f.type == frame_type::keepalive && f.has(flag::respond)) {
                frame echo;
                echo.type = frame_type::keepalive;
                encode_frame(echo, out, true);
            }
            if (!out.empty()) {
                auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(out), use_tuple);
                if (wec) {
                    break;
                }
            }
        }
        if (counted) {
            --keyed;
        }
        asio::steady_timer t(executor, std::chrono::seconds(1));
        co_await t.async_wait(use_tuple);
    }
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view name = argv[i];
        const char* value = argv[i + 1];
        if (name == "--host") {
            s.host = value;
        } else if (name == "--port") {
            s.port = static_cast<std::uint16_t>(std::atoi(value));
        } else if (name == "--clients") {
            s.clients = std::atoi(value);
        } else if (name == "--series") {
            s.series = std::atoi(value);
        } else if (name == "--families") {
            s.families = std::max(1, std::atoi(value));
        } else if (name == "--bind") {
            s.bind = value;
        } else if (name == "--flood") {
            s.flood_rate = std::atoi(value);
        } else {
            std::cerr << "usage: rsocket_load_client --port P [--host H] [--bind ADDR] "
                         "(--clients N --series S [--families F] | --flood RATE)\n";
            return 2;
        }
    }
    asio::io_context io(1);
    if (s.flood_rate > 0) {
        asio::co_spawn(io, run_flood(s), asio::detached);
        s.clients = 0;
    }
    for (int i = 0; i < s.clients; ++i) {
        asio::co_spawn(io, run_client(i, s), asio::detached);
    }
    std::thread loop([&io] { io.run(); });
    std::thread reporter([&] {
        bool announced = false;
        while (!io.stopped()) {
            if (!announced && s.clients > 0 && keyed.load() >= s.clients) {
                std::cout << "ready " << keyed.load() << std::endl;
                announced = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "status" && s.flood_rate > 0) {
            std::cout << "flood " << flood_connects.load() << " failed " << flood_failures.load()
                      << std::endl;
        } else if (line == "status") {
            std::cout << "keyed " << keyed.load() << " pulls " << pulls.load() << std::endl;
        }
    }
    io.stop();
    loop.join();
    reporter.join();
    return 0;
}
