// RSocket module: the byte transports a connection runs over: TCP (24-bit length prefix per
// frame) and WebSocket (one binary message per frame, no prefix), both bounded by a frame size.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace mgw::rsocket {

class transport {
  public:
    virtual ~transport() = default;
    // One whole frame into `frame` (without prefix). A frame longer than the transport's limit
    // yields boost::system::errc::message_size before its body is read.
    virtual boost::asio::awaitable<boost::system::error_code> read_frame(std::string& frame) = 0;
    // One encoded frame, as connection_state produced it for this transport.
    virtual boost::asio::awaitable<boost::system::error_code> write_frame(
        std::string_view bytes) = 0;
    // Abrupt close: pending reads and writes complete with an error.
    virtual void close() = 0;
    virtual bool length_prefixed() const = 0;
    virtual std::string_view name() const = 0;  // "TCP" or "Websocket", the original's tag values
    // The client's address as accepted (unspecified if the socket had no peer by then).
    virtual boost::asio::ip::address remote_address() const = 0;
};

std::unique_ptr<transport> make_tcp_transport(boost::asio::ip::tcp::socket socket,
                                              std::size_t max_frame_bytes);
// Reads the HTTP upgrade request and accepts it (Beast's suggested server timeouts bound the
// handshake); then the transport carries the frames. nullptr when the peer did not upgrade.
boost::asio::awaitable<std::unique_ptr<transport>> accept_websocket(
    boost::asio::ip::tcp::socket socket, std::size_t max_frame_bytes);

}  // namespace mgw::rsocket
