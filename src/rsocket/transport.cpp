// TCP and WebSocket transports for RSocket frames.
#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <mgw/rsocket/frame.hpp>
#include <mgw/rsocket/transport.hpp>

namespace mgw::rsocket {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk_bytes = 64 << 10;

class tcp_transport final : public transport {
  public:
    tcp_transport(asio::ip::tcp::socket socket, std::size_t max_frame_bytes)
        : socket_(std::move(socket)), max_frame_bytes_(max_frame_bytes) {
        error_code ignored;
        remote_ = socket_.remote_endpoint(ignored).address();
    }

    asio::awaitable<error_code> read_frame(std::string& frame) override {
        char prefix[length_prefix_bytes];
        auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(prefix), use_tuple);
        if (ec) {
            co_return ec;
        }
        const std::size_t length = read_length_prefix(prefix);
        if (length > max_frame_bytes_) {
            co_return make_error_code(boost::system::errc::message_size);
        }
        // Grown as bytes arrive, so a peer announcing 16 MiB and sending little holds little.
        frame.clear();
        while (frame.size() < length) {
            const std::size_t have = frame.size();
            const std::size_t chunk = std::min<std::size_t>(length - have, read_chunk_bytes);
            frame.resize(have + chunk);
            auto [body_ec, body_n] = co_await asio::async_read(
                socket_, asio::buffer(frame.data() + have, chunk), use_tuple);
            if (body_ec) {
                co_return body_ec;
            }
        }
        co_return error_code{};
    }

    asio::awaitable<error_code> write_frame(std::string_view bytes) override {
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_tuple);
        co_return ec;
    }

    void close() override {
        error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    bool length_prefixed() const override { return true; }
    std::string_view name() const override { return "TCP"; }
    asio::ip::address remote_address() const override { return remote_; }

  private:
    asio::ip::tcp::socket socket_;
    std::size_t max_frame_bytes_;
    asio::ip::address remote_;
};

class websocket_transport final : public transport {
  public:
    websocket_transport(websocket::stream<beast::tcp_stream> ws, std::size_t max_frame_bytes)
        : ws_(std::move(ws)) {
        ws_.read_message_max(max_frame_bytes);
        ws_.binary(true);
        error_code ignored;
        remote_ = beast::get_lowest_layer(ws_).socket().remote_endpoint(ignored).address();
    }

    asio::awaitable<error_code> read_frame(std::string& frame) override {
        buffer_.clear();
        auto [ec, n] = co_await ws_.async_read(buffer_, use_tuple);
        if (ec == websocket::error::message_too_big) {
            co_return make_error_code(boost::system::errc::message_size);
        }
        if (ec) {
            co_return ec;
        }
        const auto data = buffer_.cdata();
        frame.assign(static_cast<const char*>(data.data()), data.size());
        co_return error_code{};
    }

    asio::awaitable<error_code> write_frame(std::string_view bytes) override {
        auto [ec, n] = co_await ws_.async_write(asio::buffer(bytes), use_tuple);
        co_return ec;
    }

    void close() override {
        error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(asio::ip::tcp::socket::shutdown_both,
                                                       ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    bool length_prefixed() const override { return false; }
    std::string_view name() const override { return "Websocket"; }
    asio::ip::address remote_address() const override { return remote_; }

  private:
    websocket::stream<beast::tcp_stream> ws_;
    asio::ip::address remote_;
    beast::flat_buffer buffer_;
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport(asio::ip::tcp::socket socket,
                                              std::size_t max_frame_bytes) {
    return std::make_unique<tcp_transport>(std::move(socket), max_frame_bytes);
}

asio::awaitable<std::unique_ptr<transport>> accept_websocket(asio::ip::tcp::socket socket,
                                                             std::size_t max_frame_bytes) {
    websocket::stream<beast::tcp_stream> ws(std::move(socket));
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    auto [ec] = co_await ws.async_accept(use_tuple);
    if (ec) {
        co_return nullptr;
    }
    co_return std::make_unique<websocket_transport>(std::move(ws), max_frame_bytes);
}

}  // namespace mgw::rsocket
