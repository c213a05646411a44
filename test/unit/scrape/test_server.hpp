// A tiny scriptable HTTP/1.1 server for scraper tests: raw Asio on 127.0.0.1 with a free
// port, optional TLS, canned responses and faults (hang, close, slow, endless bodies). Runs on
// the test's io_context; stop() ends every connection so the test finishes promptly.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

namespace mgw::scrape::test {

namespace asio = boost::asio;
using asio::ip::tcp;

struct request_info {
    std::string target;
    std::multimap<std::string, std::string> headers;  // lower-case names
    int connection = 0;                               // 1-based accept counter
    int request_on_connection = 0;                    // 1-based

    bool has(const std::string& name) const { return headers.count(name) != 0; }
    std::string get(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct reply {
    std::string bytes;                   // written as-is
    std::chrono::milliseconds delay{0};  // before writing
    bool hang = false;                   // never answer (until stop)
    bool close = false;                  // close after writing
    // After `bytes`, write chunked-encoding chunks of this many bytes until the peer goes away
    // or `endless_limit` bytes were written (then the last chunk).
    std::size_t endless_chunk = 0;
    std::size_t endless_limit = 0;
};

inline std::string response(int status, std::string_view body,
                            std::string_view extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           std::string(extra_headers) + "\r\n" + std::string(body);
}

class test_server {
  public:
    using handler = std::function<reply(const request_info&)>;

    test_server(asio::io_context& io, handler h, asio::ssl::context* tls = nullptr)
        : io_(io),
          acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          handler_(std::move(h)),
          tls_(tls) {
        asio::co_spawn(io_, accept_loop(), asio::detached);
    }
    ~test_server() { stop(); }

    std::uint16_t port() const { return port_; }
    // Written to every new connection before anything is read, which is then closed.
    void set_greeting(std::string bytes) { greeting_ = std::move(bytes); }
    int connections() const { return accepted_.load(); }
    int requests() const { return requests_.load(); }
    int max_concurrent_requests() const { return max_active_.load(); }
    std::size_t endless_bytes_written() const { return endless_written_.load(); }
    std::vector<request_info> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }
    std::string last_sni() const {
        std::lock_guard lock(mutex_);
        return sni_;
    }

    void stop() {
        boost::system::error_code ec;
        acceptor_.close(ec);
        for (auto& c : live_) {
            if (auto s = c.lock()) {
                s->socket.close(ec);
                s->timer.cancel();
            }
        }
    }

  private:
    struct conn {
        explicit conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
        tcp::socket socket;
        asio::steady_timer timer;
    };

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            const int number = ++accepted_;
            // As Go and most app servers do; without it Nagle + delayed ACK stall big bodies.
            socket.set_option(tcp::no_delay(true), ec);
            auto c = std::make_shared<conn>(std::move(socket));
            live_.push_back(c);
            asio::co_spawn(io_, session(c, number), asio::detached);
        }
    }

    asio::awaitable<void> session(std::shared_ptr<conn> c, int number) {
        if (!greeting_.empty()) {
            co_await asio::async_write(c->socket, asio::buffer(greeting_),
                                       asio::as_tuple(asio::use_awaitable));
            boost::system::error_code ignored;
            c->socket.shutdown(tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
            co_return;
        }
        if (tls_ == nullptr) {
            co_await serve(*c, c->socket, number);
            co_return;
        }
        asio::ssl::stream<tcp::socket&> stream(c->socket, *tls_);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
        // Recorded even when the client rejects our certificate during the handshake.
        if (const char* name =
                SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
            std::lock_guard lock(mutex_);
            sni_ = name;
        }
        if (ec) {
            co_return;
        }
        co_await serve(*c, stream, number);
    }

    template <typename Stream>
    asio::awaitable<void> serve(conn& c, Stream& stream, int number) {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        asio::streambuf buffer;
        for (int on_connection = 1;; ++on_connection) {
            auto [ec, n] = co_await asio::async_read_until(stream, buffer, "\r\n\r\n", tuple);
            if (ec) {
                co_return;
            }
            std::string head(asio::buffers_begin(buffer.data()),
                             asio::buffers_begin(buffer.data()) + static_cast<long>(n));
            buffer.consume(n);
            request_info info = parse(head);
            info.connection = number;
            info.request_on_connection = on_connection;
            {
                std::lock_guard lock(mutex_);
                seen_.push_back(info);
            }
            ++requests_;
            const int active = ++active_;
            int previous = max_active_.load();
            while (active > previous && !max_active_.compare_exchange_weak(previous, active)) {
            }
            const reply r = handler_(info);
            if (r.delay.count() > 0 || r.hang) {
                c.timer.expires_after(r.hang ? std::chrono::milliseconds(60'000) : r.delay);
                auto [timer_ec] = co_await c.timer.async_wait(tuple);
                if (r.hang || timer_ec) {
                    --active_;
                    co_return;
                }
            }
            auto [write_ec, written] =
                co_await asio::async_write(stream, asio::buffer(r.bytes), tuple);
            if (!write_ec && r.endless_chunk > 0) {
                const std::string chunk =
                    to_hex(r.endless_chunk) + "\r\n" + std::string(r.endless_chunk, 'x') + "\r\n";
                std::size_t total = 0;
                while (total < r.endless_limit) {
                    auto [chunk_ec, chunk_n] =
                        co_await asio::async_write(stream, asio::buffer(chunk), tuple);
                    if (chunk_ec) {
                        write_ec = chunk_ec;
                        break;
                    }
                    total += r.endless_chunk;
                    endless_written_ += r.endless_chunk;
                }
                if (!write_ec) {
                    co_await asio::async_write(stream, asio::buffer(std::string("0\r\n\r\n")),
                                               tuple);
                }
            }
            --active_;
            if (write_ec || r.close) {
                boost::system::error_code ignored;
                c.socket.shutdown(tcp::socket::shutdown_both, ignored);
                c.socket.close(ignored);
                co_return;
            }
        }
    }

    static std::string to_hex(std::size_t n) {
        static const char* digits = "0123456789abcdef";
        std::string out;
        do {
            out.insert(out.begin(), digits[n % 16]);
            n /= 16;
        } while (n != 0);
        return out;
    }

    static request_info parse(const std::string& head) {
        request_info info;
        const auto line_end = head.find("\r\n");
        const std::string request_line = head.substr(0, line_end);
        const auto sp1 = request_line.find(' ');
        const auto sp2 = request_line.rfind(' ');
        info.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::size_t pos = line_end + 2;
        while (pos < head.size()) {
            const auto end = head.find("\r\n", pos);
            const std::string line = head.substr(pos, end - pos);
            pos = end + 2;
            const auto colon = line.find(':');
            if (colon == std::string::npos) {
                continue;
            }
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            info.headers.emplace(name, value);
        }
        return info;
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = acceptor_.local_endpoint().port();
    handler handler_;
    asio::ssl::context* tls_;
    std::atomic<int> accepted_{0};
    std::atomic<int> requests_{0};
    std::atomic<int> active_{0};
    std::atomic<int> max_active_{0};
    std::atomic<std::size_t> endless_written_{0};
    mutable std::mutex mutex_;
    std::vector<request_info> seen_;
    std::string sni_;
    std::string greeting_;
    std::vector<std::weak_ptr<conn>> live_;
};

}  // namespace mgw::scrape::test
