// Client TLS context for scraping instances: system trust plus an optional CA bundle (as
// Promfetcher's backends.ca_certs), optional client certificate, TLS 1.2+.
#include <stdexcept>

#include <mgw/scrape/tls.hpp>

namespace mgw::scrape {

boost::asio::ssl::context make_client_context(const tls_options& options) {
    namespace ssl = boost::asio::ssl;
    ssl::context context(ssl::context::tls_client);
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (options.skip_verify) {
        context.set_verify_mode(ssl::verify_none);
    } else {
        context.set_verify_mode(ssl::verify_peer);
        context.set_default_verify_paths();
        if (!options.ca_file.empty()) {
            context.load_verify_file(options.ca_file);
        }
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
        throw std::invalid_argument("scrape TLS: cert_file and key_file must be set together");
    }
    if (!options.cert_file.empty()) {
        context.use_certificate_chain_file(options.cert_file);
        context.use_private_key_file(options.key_file, ssl::context::pem);
    }
    return context;
}

}  // namespace mgw::scrape
