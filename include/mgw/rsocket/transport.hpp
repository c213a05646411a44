// RSocket module: the byte transports a connection runs over: TCP (24-bit length prefix per
// frame) and WebSocket (one binary message per frame, no prefix, on path `/` as the original).
// Both enforce the same limits on what a client sends: a frame size, checked by the gateway
// itself on both, and a frame buffer leased before it grows; both tell when the frame being
// read began, so that the connection can hold it to a deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <mgw/rsocket/connection_memory.hpp>

namespace mgw::rsocket {

struct read_limits {
    std::size_t max_frame_bytes = 16777215;
};

class transport {
  public:
    virtual ~transport() = default;
    // One whole frame into `frame` (without prefix); its capacity is reserved in `bytes` before
    // the buffer grows. Errors besides the transport's own: errc::message_size (longer than
    // the limit: on TCP found from the prefix, before the body is read), errc::not_enough_memory
    // (`bytes` refused to grow; the rest of the frame was not read). After either the
    // transport can still write (an ERROR frame) before it is closed.
    virtual boost::asio::awaitable<boost::system::error_code> read_frame(std::string& frame,
                                                                         held_bytes& bytes) = 0;
    // One encoded frame, as connection_state produced it for this transport.
    virtual boost::asio::awaitable<boost::system::error_code> write_frame(
        std::string_view bytes) = 0;
    // Abrupt close: pending reads and writes complete with an error.
    virtual void close() = 0;
    // Before close() after an ERROR frame: stops sending and discards what the client still
    // sends for up to `time` (no read may be pending), so that the ERROR is not lost to a reset.
    virtual boost::asio::awaitable<void> linger(std::chrono::milliseconds time) = 0;
    virtual bool length_prefixed() const = 0;
    virtual std::string_view name() const = 0;  // "TCP" or "Websocket", the original's tag values
    // When the first byte of the frame being read arrived; nullopt between frames. A write
    // may go out while a read waits (the connection's ERROR frame for a late frame).
    virtual std::optional<std::chrono::steady_clock::time_point> frame_begun() const = 0;
    // WebSocket: the upgrade request's Authorization header (empty when absent, and on TCP).
    virtual std::string_view authorization() const { return {}; }
    // The client's address as accepted (unspecified if the socket had no peer by then).
    virtual boost::asio::ip::address remote_address() const = 0;
};

std::unique_ptr<transport> make_tcp_transport(boost::asio::ip::tcp::socket socket,
                                              read_limits limits);

struct websocket_accept {
    std::unique_ptr<rsocket::transport> accepted;  // null when the client was refused
    // When refused: why, a fixed value for the connection error counter.
    std::string_view refusal;
};

// Reads the HTTP upgrade request within `handshake_timeout` and accepts it when it is a
// WebSocket upgrade for `/` (404 for another path, 400 for no upgrade); then the transport
// carries the frames.
boost::asio::awaitable<websocket_accept> accept_websocket(
    boost::asio::ip::tcp::socket socket, read_limits limits,
    std::chrono::milliseconds handshake_timeout);

}  // namespace mgw::rsocket
