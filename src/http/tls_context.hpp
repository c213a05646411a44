// HTTP server module (internal): the server side TLS context, built once at startup.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace mgw::http {

// TLS 1.2 or newer, certificate chain and private key from PEM files. Throws
// std::runtime_error naming the file when either cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file);

}  // namespace mgw::http
