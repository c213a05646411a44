// Test helpers: see test_support.hpp.
#include "test_support.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/parser.hpp>

namespace mgw::http::test {

namespace {

int open_log_file(std::string& path) {
    char name[] = "/tmp/mgw-http-test-log-XXXXXX";
    int fd = ::mkstemp(name);
    if (fd < 0) {
        throw std::runtime_error("mkstemp failed");
    }
    path = name;
    return fd;
}

}  // namespace

test_server::test_server(router routes, server_options options, core::memory_budget* memory)
    : log_fd_(open_log_file(log_path_)),
      log_(core::log_level::info, core::log_format::json, log_fd_) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (memory != nullptr) {
        server_ = std::make_unique<http::server>(io_, std::move(options), std::move(routes), log_,
                                                 registry_, *memory);
    } else {
        server_ = std::make_unique<http::server>(io_, std::move(options), std::move(routes), log_,
                                                 registry_);
    }
    server_->start();
    for (int i = 0; i < 2; ++i) {
        threads_.emplace_back([this] {
            auto guard = boost::asio::make_work_guard(io_);
            io_.run();
        });
    }
}

test_server::~test_server() {
    if (!drained_) {
        drain(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }
    io_.stop();
    for (auto& t : threads_) {
        t.join();
    }
    server_.reset();
    ::close(log_fd_);
    ::unlink(log_path_.c_str());
}

bool test_server::drain(std::chrono::steady_clock::time_point deadline) {
    drained_ = true;
    auto result = boost::asio::co_spawn(io_, server_->drain(deadline), boost::asio::use_future);
    return result.get();
}

double test_server::metric(const std::string& name,
                           const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry_.Collect()) {
        if (family.name != name) {
            continue;
        }
        for (const auto& m : family.metric) {
            std::map<std::string, std::string> have;
            for (const auto& l : m.label) {
                have[l.name] = l.value;
            }
            bool match = true;
            for (const auto& [k, v] : labels) {
                if (have[k] != v) {
                    match = false;
                }
            }
            if (!match) {
                continue;
            }
            switch (family.type) {
                case prometheus::MetricType::Counter:
                    return m.counter.value;
                case prometheus::MetricType::Gauge:
                    return m.gauge.value;
                case prometheus::MetricType::Histogram:
                    return static_cast<double>(m.histogram.sample_count);
                default:
                    return 0;
            }
        }
    }
    return 0;
}

std::string test_server::log_text() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

raw_client::raw_client(std::uint16_t port, std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
        throw std::runtime_error("socket failed");
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        throw std::runtime_error("connect failed");
    }
}

raw_client::~raw_client() {
    close();
}

void raw_client::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void raw_client::send(std::string_view bytes) {
    while (!bytes.empty()) {
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            throw std::runtime_error("send failed");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::optional<raw_response> raw_client::read_response(bool head_request) {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.skip(head_request);
    parser.body_limit(64 * 1024 * 1024);
    for (;;) {
        if (!pending_.empty()) {
            boost::beast::error_code ec;
            auto used = parser.put(boost::asio::buffer(pending_), ec);
            pending_.erase(0, used);
            if (ec && ec != http::error::need_more) {
                return std::nullopt;
            }
            if (parser.is_done()) {
                return parser.release();
            }
            if (used > 0 && !pending_.empty() && !ec) {
                continue;
            }
        }
        char buf[16384];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n == 0 && parser.is_header_done()) {
                boost::beast::error_code ec;
                parser.put_eof(ec);
                if (!ec && parser.is_done()) {
                    return parser.release();
                }
            }
            return std::nullopt;
        }
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

bool raw_client::closed_within(std::chrono::milliseconds within) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(within.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((within.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto end = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < end) {
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0) {
            return true;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false;  // the receive timeout passed with the connection still open
            }
            return true;
        }
    }
    return false;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= end) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

std::string request(std::string_view method, std::string_view target,
                    std::string_view extra_headers, std::string_view body) {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    out.append(extra_headers);
    if (!body.empty()) {
        out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    return out;
}

}  // namespace mgw::http::test
