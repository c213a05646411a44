// TCP and WebSocket transports for RSocket frames, with the same limits on both: the frame
// size and the frame buffer leased before it grows; the frame deadline is the connection's.
#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>

#include <mgw/core/transfer_whole.hpp>
#include <mgw/rsocket/frame.hpp>
#include <mgw/rsocket/transport.hpp>

#include "frame_buffer.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The upgrade request: a request line and a few headers, an Authorization among them.
constexpr std::uint32_t upgrade_header_limit = 8192;

// Ends the sending side and reads what the client still sends, discarding it, until it closes
// or `time` has passed: closing with unread bytes would make the kernel reset the connection,
// and the client could lose the ERROR frame just written.
asio::awaitable<void> drain(asio::ip::tcp::socket& socket, std::chrono::milliseconds time) {
    using namespace asio::experimental::awaitable_operators;
    error_code ec;
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    if (ec) {
        co_return;
    }
    asio::steady_timer timer(socket.get_executor(), time);
    char sink[4096];
    for (;;) {
        auto result = co_await (socket.async_read_some(asio::buffer(sink), use_tuple) ||
                                timer.async_wait(use_tuple));
        if (result.index() == 1 || std::get<0>(std::get<0>(result))) {
            co_return;
        }
    }
}

class tcp_transport final : public transport {
  public:
    tcp_transport(asio::ip::tcp::socket socket, read_limits limits)
        : socket_(std::move(socket)), limits_(limits) {
        error_code ignored;
        remote_ = socket_.remote_endpoint(ignored).address();
    }

    asio::awaitable<error_code> read_frame(std::string& frame, held_bytes& bytes) override {
        frame.clear();
        begun_.reset();
        char prefix[length_prefix_bytes];
        // Between frames the client may be as quiet as its keepalive allows; a frame, once
        // begun, is timed by the connection.
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(prefix), use_tuple);
        if (ec) {
            co_return ec;
        }
        begun_ = clock::now();
        if (n < length_prefix_bytes) {
            auto [rest_ec, rest_n] = co_await asio::async_read(
                socket_, asio::buffer(prefix + n, length_prefix_bytes - n), use_tuple);
            if (rest_ec) {
                co_return rest_ec;
            }
        }
        const std::size_t length = read_length_prefix(prefix);
        if (length > limits_.max_frame_bytes) {
            co_return make_error_code(boost::system::errc::message_size);
        }
        // Grown as bytes arrive, so a peer announcing 16 MiB and sending little holds little.
        while (frame.size() < length) {
            const std::size_t have = frame.size();
            const std::size_t chunk = std::min<std::size_t>(length - have, read_chunk_bytes);
            if (!grow_frame(frame, have + chunk, length, bytes)) {
                co_return make_error_code(boost::system::errc::not_enough_memory);
            }
            frame.resize(have + chunk);
            auto [body_ec, body_n] = co_await asio::async_read(
                socket_, asio::buffer(frame.data() + have, chunk), use_tuple);
            if (body_ec) {
                co_return body_ec;
            }
        }
        begun_.reset();
        co_return error_code{};
    }

    asio::awaitable<error_code> write_frame(std::string_view bytes) override {
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes),
                                                  core::transfer_whole, use_tuple);
        co_return ec;
    }

    void close() override {
        error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    asio::awaitable<void> linger(std::chrono::milliseconds time) override {
        co_await drain(socket_, time);
    }

    bool length_prefixed() const override { return true; }
    std::string_view name() const override { return "TCP"; }
    std::optional<clock::time_point> frame_begun() const override { return begun_; }
    asio::ip::address remote_address() const override { return remote_; }

  private:
    asio::ip::tcp::socket socket_;
    read_limits limits_;
    std::optional<clock::time_point> begun_;
    asio::ip::address remote_;
};

class websocket_transport final : public transport {
  public:
    websocket_transport(websocket::stream<beast::tcp_stream> ws, read_limits limits,
                        std::string authorization)
        : ws_(std::move(ws)), limits_(limits), authorization_(std::move(authorization)) {
        // The size is checked here, as on TCP: Beast's own limit would close the stream
        // before the client could be told why.
        ws_.read_message_max(0);
        ws_.binary(true);
        error_code ignored;
        remote_ = beast::get_lowest_layer(ws_).socket().remote_endpoint(ignored).address();
    }

    asio::awaitable<error_code> read_frame(std::string& frame, held_bytes& bytes) override {
        frame.clear();
        begun_.reset();
        // Up to one byte past the limit is read, to see that the limit was passed.
        const std::size_t most = limits_.max_frame_bytes + 1;
        for (;;) {
            const std::size_t have = frame.size();
            if (!reserve_next_read(frame, most, bytes)) {
                co_return make_error_code(boost::system::errc::not_enough_memory);
            }
            frame.resize(std::min(frame.capacity(), most));
            auto [ec, n] = co_await ws_.async_read_some(
                asio::buffer(frame.data() + have, frame.size() - have), use_tuple);
            frame.resize(have + n);
            if (ec) {
                co_return ec;
            }
            if (frame.size() > limits_.max_frame_bytes) {
                co_return make_error_code(boost::system::errc::message_size);
            }
            if (ws_.is_message_done()) {
                begun_.reset();
                co_return error_code{};
            }
            if (!begun_ && !frame.empty()) {
                begun_ = clock::now();
            }
        }
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

    asio::awaitable<void> linger(std::chrono::milliseconds time) override {
        co_await drain(beast::get_lowest_layer(ws_).socket(), time);
    }

    bool length_prefixed() const override { return false; }
    std::string_view name() const override { return "Websocket"; }
    std::optional<clock::time_point> frame_begun() const override { return begun_; }
    std::string_view authorization() const override { return authorization_; }
    asio::ip::address remote_address() const override { return remote_; }

  private:
    websocket::stream<beast::tcp_stream> ws_;
    read_limits limits_;
    std::optional<clock::time_point> begun_;
    std::string authorization_;
    asio::ip::address remote_;
};

asio::awaitable<void> refuse_upgrade(beast::tcp_stream& stream, http::status status,
                                     unsigned version, std::string body) {
    http::response<http::string_body> response{status, version};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.set(http::field::connection, "close");
    response.body() = std::move(body);
    response.prepare_payload();
    co_await http::async_write(stream, response, use_tuple);
    error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace

std::unique_ptr<transport> make_tcp_transport(asio::ip::tcp::socket socket, read_limits limits) {
    return std::make_unique<tcp_transport>(std::move(socket), limits);
}

asio::awaitable<websocket_accept> accept_websocket(asio::ip::tcp::socket socket, read_limits limits,
                                                   std::chrono::milliseconds handshake_timeout) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(handshake_timeout);
    beast::flat_buffer buffer(upgrade_header_limit);
    http::request_parser<http::empty_body> parser;
    parser.header_limit(upgrade_header_limit);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) {
        co_return websocket_accept{.accepted = nullptr, .refusal = "websocket_upgrade"};
    }
    const http::request<http::empty_body>& request = parser.get();
    if (!websocket::is_upgrade(request)) {
        co_await refuse_upgrade(stream, http::status::bad_request, request.version(),
                                "a WebSocket upgrade is expected here\n");
        co_return websocket_accept{.accepted = nullptr, .refusal = "websocket_upgrade"};
    }
    // The original (rsocket-java's WebsocketServerTransport) serves `/` only.
    const std::string_view target = request.target();
    if (target.substr(0, target.find('?')) != "/") {
        co_await refuse_upgrade(stream, http::status::not_found, request.version(),
                                "RSocket is served on / only\n");
        co_return websocket_accept{.accepted = nullptr, .refusal = "websocket_path"};
    }
    std::string authorization(request[http::field::authorization]);
    stream.expires_never();
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    // The handshake by the same deadline; afterwards idle time is governed by the client's
    // keepalive and lifetime, as on TCP.
    ws.set_option(websocket::stream_base::timeout{
        .handshake_timeout = handshake_timeout,
        .idle_timeout = websocket::stream_base::none(),
        .keep_alive_pings = false,
    });
    auto [accept_ec] = co_await ws.async_accept(request, use_tuple);
    if (accept_ec) {
        co_return websocket_accept{.accepted = nullptr, .refusal = "websocket_upgrade"};
    }
    co_return websocket_accept{.accepted = std::make_unique<websocket_transport>(
                                   std::move(ws), limits, std::move(authorization)),
                               .refusal = {}};
}

}  // namespace mgw::rsocket
