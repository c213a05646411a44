// HTTP server module (internal): starting a connection on an accepted socket. Declared apart
// from the connection template so that the acceptor's TU never parses Beast's HTTP code.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

namespace boost::asio::ssl {
class context;
}

namespace mgw::http {

struct server_context;

// `socket` must have been accepted on its own strand; the connection runs there.
void start_plain_connection(std::shared_ptr<server_context> ctx,
                            boost::asio::ip::tcp::socket socket);
void start_tls_connection(std::shared_ptr<server_context> ctx,
                          std::shared_ptr<boost::asio::ssl::context> tls,
                          boost::asio::ip::tcp::socket socket);

}  // namespace mgw::http
