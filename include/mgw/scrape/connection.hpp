// Scrape module: one keep-alive connection to an instance, plain TCP or TLS, with its read
// buffer, so a pooled connection carries over bytes the parser has not consumed yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace mgw::scrape {

// Pool key: connections are only shared between requests that would open the same one.
struct endpoint_key {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;
    std::string server_name;

    friend bool operator==(const endpoint_key&, const endpoint_key&) = default;
};

struct endpoint_key_hash {
    std::size_t operator()(const endpoint_key& key) const noexcept;
};

struct connection {
    using plain_stream = boost::beast::tcp_stream;
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

    explicit connection(plain_stream stream) : stream_(std::move(stream)) {}
    explicit connection(tls_stream stream) : stream_(std::move(stream)) {}

    std::variant<plain_stream, tls_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::chrono::steady_clock::time_point idle_since_{};
    std::uint64_t requests_ = 0;

    boost::beast::tcp_stream& tcp() {
        if (auto* tls = std::get_if<tls_stream>(&stream_)) {
            return tls->next_layer();
        }
        return std::get<plain_stream>(stream_);
    }
};

}  // namespace mgw::scrape
