// Core module: the one way every listener of the gateway opens its socket (HTTP, RSocket over TCP
// and WebSocket, HM ingest, gRPC), so that they all read a host the same way and fail the same
// way. Start-up only: failures throw, naming the listener and the address.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace mgw::core {

// The endpoint a listener binds for `host` and `port`: an IP literal as it is, an empty host as
// every IPv4 interface, a name through the resolver (its first passive answer). Throws
// std::system_error("<what>: cannot resolve listen host <host>") when the name does not resolve.
boost::asio::ip::tcp::endpoint resolve_listen_endpoint(std::string_view what,
                                                       const std::string& host, std::uint16_t port);

// Opens, binds and listens `acceptor` on `endpoint`, with SO_REUSEADDR (a restarted gateway does
// not wait out the old sockets' TIME_WAIT) and the system's largest backlog. Throws
// std::system_error("<what>: cannot listen on <address>:<port>") when the bind fails (port in use,
// address not local). Returns the bound endpoint (the real port when `endpoint`'s is 0).
boost::asio::ip::tcp::endpoint open_listener(boost::asio::ip::tcp::acceptor& acceptor,
                                             std::string_view what,
                                             const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace mgw::core
