// HTTP server module: what a handler knows about the request it answers. It lives on the
// connection's strand for the duration of one handler call; nothing in it is thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

namespace mgw::http {

using verb = boost::beast::http::verb;

class request_context {
  public:
    // Reads one header field of the request; the connection supplies it so that Beast's
    // field container stays out of this header.
    class header_source {
      public:
        virtual std::optional<std::string_view> find(std::string_view name) const = 0;

      protected:
        ~header_source() = default;
    };

    struct init {
        verb method;
        std::string_view method_string;
        std::string_view target;
        std::string path;  // percent-decoded
        std::vector<std::pair<std::string, std::string>> query;
        const std::string* body = nullptr;
        const header_source* headers = nullptr;
        boost::asio::ip::tcp::endpoint remote;
        std::chrono::steady_clock::time_point deadline;
        unsigned version = 11;  // 10 or 11
    };

    explicit request_context(init values);
    request_context(const request_context&) = delete;
    request_context& operator=(const request_context&) = delete;

    verb method() const { return init_.method; }
    std::string_view method_string() const { return init_.method_string; }
    std::string_view target() const { return init_.target; }  // as sent: path and query
    const std::string& path() const { return init_.path; }
    unsigned version() const { return init_.version; }

    // Decoded query parameters in order of appearance (repeated keys allowed).
    const std::vector<std::pair<std::string, std::string>>& query() const { return init_.query; }
    // First value of `key`, if present.
    std::optional<std::string_view> query(std::string_view key) const;

    // First value of a header field, case-insensitive name.
    std::optional<std::string_view> header(std::string_view name) const;
    const std::string& body() const;

    const boost::asio::ip::tcp::endpoint& remote() const { return init_.remote; }
    std::chrono::steady_clock::time_point deadline() const { return init_.deadline; }

    // Cancellation. The handler coroutine's own cancellation state receives the same request
    // (terminal on client disconnect or request timeout; total, then terminal, when a drain
    // runs out of time), so awaited operations abort by themselves. `cancelled()` is for
    // loops that do not await, and `cancellation_slot()` for work the handler starts
    // without awaiting it directly (a fan-out): bind it to one operation.
    bool cancelled() const { return requested_ != boost::asio::cancellation_type::none; }
    boost::asio::cancellation_type cancellation_requested() const { return requested_; }
    boost::asio::cancellation_slot cancellation_slot() { return signal_.slot(); }

    // Called by the connection.
    void request_cancellation(boost::asio::cancellation_type type);

  private:
    init init_;
    boost::asio::cancellation_type requested_ = boost::asio::cancellation_type::none;
    boost::asio::cancellation_signal signal_;
};

}  // namespace mgw::http
