// Helpers for the HTTP server tests: a server on a loopback port with its own io_context
// threads, and a raw client (POSIX socket with receive timeouts, Beast's parser for responses)
// so that every test controls the exact bytes on the wire and can never hang.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server.hpp>

namespace mgw::http::test {

using raw_response = boost::beast::http::response<boost::beast::http::string_body>;

class test_server {
  public:
    // `memory`: the budget the server leases from (none: no ceiling).
    explicit test_server(router routes, server_options options = {},
                         core::memory_budget* memory = nullptr);
    ~test_server();

    std::uint16_t port() const { return server_->local_port(); }
    http::server& server() { return *server_; }
    prometheus::Registry& registry() { return registry_; }
    boost::asio::io_context& io() { return io_; }

    // Runs server::drain on the io_context and waits for its result.
    bool drain(std::chrono::steady_clock::time_point deadline);

    // Value of a counter or gauge sample, 0 when absent; for histograms, the sample count.
    double metric(const std::string& name, const std::map<std::string, std::string>& labels);

    // Everything the logger wrote so far (the access log goes there).
    std::string log_text() const;

  private:
    std::string log_path_;  // before log_fd_: open_log_file fills it
    int log_fd_;
    core::logger log_;
    prometheus::Registry registry_;
    boost::asio::io_context io_{2};
    std::unique_ptr<http::server> server_;
    std::vector<std::thread> threads_;
    bool drained_ = false;
};

class raw_client {
  public:
    explicit raw_client(std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~raw_client();
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    void send(std::string_view bytes);
    // Reads one response (leftover bytes stay for the next call). nullopt on EOF, reset or
    // timeout before the response is complete.
    std::optional<raw_response> read_response(bool head_request = false);
    // True when the server closes the connection within `within` (EOF or reset).
    bool closed_within(std::chrono::milliseconds within);
    void close();

  private:
    int fd_ = -1;
    std::string pending_;
};

// Polls `condition` until it holds or `within` passes: metrics and the access log are
// recorded after the response is written, so a client may see the response first.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds within = std::chrono::seconds(2));

// "GET <target> HTTP/1.1" with Host and the extra header lines given ("Name: value\r\n"...).
std::string request(std::string_view method, std::string_view target,
                    std::string_view extra_headers = {}, std::string_view body = {});

}  // namespace mgw::http::test
