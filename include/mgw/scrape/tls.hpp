// Scrape module: the TLS client context for instances (backends): trust, client certificate,
// and the per-connection SNI and hostname check against the route's server_cert_domain_san.
#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>

namespace mgw::scrape {

struct tls_options {
    std::string ca_file;    // PEM bundle trusted in addition to the system store
    std::string cert_file;  // client certificate chain (PEM), optional
    std::string key_file;   // its private key (PEM), required with cert_file
    bool skip_verify = false;
};

// Builds the client context. Throws boost::system::system_error or std::invalid_argument on
// unreadable files or a certificate without a key: this is startup misconfiguration.
boost::asio::ssl::context make_client_context(const tls_options& options);

}  // namespace mgw::scrape
