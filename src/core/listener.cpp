// The listeners' common socket set-up (see mgw/core/listener.hpp).
#include <string>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <mgw/core/listener.hpp>

namespace mgw::core {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp::endpoint resolve_listen_endpoint(std::string_view what, const std::string& host,
                                      std::uint16_t port) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (!ec) {
        return {address, port};
    }
    asio::io_context scratch;
    tcp::resolver resolver(scratch);
    const auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
        throw std::system_error(ec, std::string(what) + ": cannot resolve listen host " + host);
    }
    return results.begin()->endpoint();
}

tcp::endpoint open_listener(tcp::acceptor& acceptor, std::string_view what,
                            const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        throw std::system_error(ec, std::string(what) + ": cannot listen on " +
                                        endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()));
    }
    return acceptor.local_endpoint();
}

}  // namespace mgw::core
