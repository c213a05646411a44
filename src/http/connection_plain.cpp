// Plain-TCP connections: the connection template over tcp::socket.
#include <boost/asio/ip/tcp.hpp>

#include "connection.hpp"
#include "connection_start.hpp"

namespace mgw::http {

void start_plain_connection(std::shared_ptr<server_context> ctx,
                            boost::asio::ip::tcp::socket socket) {
    boost::system::error_code ec;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    std::make_shared<connection<boost::asio::ip::tcp::socket>>(std::move(ctx), std::move(socket))
        ->start();
}

}  // namespace mgw::http
