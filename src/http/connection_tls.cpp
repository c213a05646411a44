// TLS connections: the connection template over ssl::stream<tcp::socket>. Kept apart from the
// plain one so the two heavy instantiations compile in parallel.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "connection.hpp"
#include "connection_start.hpp"

namespace mgw::http {

void start_tls_connection(std::shared_ptr<server_context> ctx,
                          std::shared_ptr<boost::asio::ssl::context> tls,
                          boost::asio::ip::tcp::socket socket) {
    boost::system::error_code ec;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    // SSL_new takes its own reference on the SSL_CTX: the context may go before the stream.
    std::make_shared<connection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>>(
        std::move(ctx), std::move(socket), *tls)
        ->start();
}

}  // namespace mgw::http
