// Server TLS setup. Old protocol versions and compression are refused outright.
#include "tls_context.hpp"

#include <stdexcept>

#include <openssl/ssl.h>

namespace mgw::http {

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file) {
    namespace ssl = boost::asio::ssl;
    if (cert_file.empty() || key_file.empty()) {
        throw std::runtime_error("tls: both cert_file and key_file are required");
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) {
        throw std::runtime_error("tls: cannot load certificate " + cert_file + ": " + ec.message());
    }
    ctx->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) {
        throw std::runtime_error("tls: cannot load private key " + key_file + ": " + ec.message());
    }
    return ctx;
}

}  // namespace mgw::http
