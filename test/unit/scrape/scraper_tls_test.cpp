// The scraper over TLS against an in-process server with a self-signed certificate made by the
// openssl CLI: SNI = server_cert_domain_san, hostname verification, skip-verify, reuse.
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "scraper_fixture.hpp"
#include "test_server.hpp"

using namespace mgw::scrape;
using namespace mgw::scrape::test;
namespace fs = std::filesystem;

namespace {

// A temp dir holding a self-signed P-256 certificate for `name` (CN and DNS SAN).
class self_signed {
  public:
    explicit self_signed(const std::string& name) {
        std::string pattern = (fs::temp_directory_path() / "mgw-tls-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        const std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
            "-subj /CN=" +
            name + " -addext subjectAltName=DNS:" + name + " -keyout " + key().string() + " -out " +
            cert().string() + " >/dev/null 2>&1";
        REQUIRE(std::system(command.c_str()) == 0);
    }
    ~self_signed() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path cert() const { return dir_ / "cert.pem"; }
    fs::path key() const { return dir_ / "key.pem"; }

  private:
    fs::path dir_;
};

boost::asio::ssl::context server_context(const self_signed& cert) {
    boost::asio::ssl::context context(boost::asio::ssl::context::tls_server);
    context.use_certificate_chain_file(cert.cert().string());
    context.use_private_key_file(cert.key().string(), boost::asio::ssl::context::pem);
    return context;
}

scrape_target tls_target(std::uint16_t port, std::string server_name) {
    scrape_target t = local_target(port);
    t.tls = true;
    t.server_name = std::move(server_name);
    return t;
}

}  // namespace

TEST_CASE_METHOD(scraper_fixture, "scrape over TLS: SNI is the SAN, certificate verified") {
    const self_signed cert("instance-guid-1");
    auto tls = server_context(cert);
    test_server server(
        io, [](const request_info&) { return reply{response(200, "up 1\n")}; }, &tls);
    scraper_config config;
    config.tls.ca_file = cert.cert().string();
    auto s = make_scraper(config);

    const auto first = scrape(*s, {tls_target(server.port(), "instance-guid-1")}, options_for());
    CHECK(first.at(0).ok());
    CHECK(first.at(0).body == "up 1\n");
    CHECK(server.last_sni() == "instance-guid-1");

    // Reused over the same TLS session.
    const auto second = scrape(*s, {tls_target(server.port(), "instance-guid-1")}, options_for());
    CHECK(second.at(0).ok());
    CHECK(second.at(0).reused_connection);
    CHECK(server.connections() == 1);

    // Another instance's SAN on this port: the certificate does not match (route integrity).
    const auto wrong = scrape(*s, {tls_target(server.port(), "instance-guid-2")}, options_for());
    CHECK(wrong.at(0).error == scrape_error::tls_error);
    CHECK(wrong.at(0).reason == "certificate");
    CHECK(server.last_sni() == "instance-guid-2");
}

TEST_CASE_METHOD(scraper_fixture, "scrape over TLS: untrusted unless skip_verify") {
    const self_signed cert("instance-guid-1");
    auto tls = server_context(cert);
    test_server server(
        io, [](const request_info&) { return reply{response(200, "up 1\n")}; }, &tls);
    auto strict = make_scraper();  // system trust only
    const auto refused =
        scrape(*strict, {tls_target(server.port(), "instance-guid-1")}, options_for());
    CHECK(refused.at(0).error == scrape_error::tls_error);
    CHECK(refused.at(0).reason == "certificate");

    scraper_config lax;
    lax.tls.skip_verify = true;
    auto skipping = make_scraper(lax);
    const auto accepted = scrape(*skipping, {tls_target(server.port(), "any-name")}, options_for());
    CHECK(accepted.at(0).ok());
    CHECK(server.last_sni() == "any-name");
}

TEST_CASE_METHOD(scraper_fixture, "scrape over TLS: a plain HTTP server fails the handshake") {
    test_server answers(io, [](const request_info&) { return reply{response(200, "up 1\n")}; });
    answers.set_greeting("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    test_server silent(io, [](const request_info&) { return reply{response(200, "up 1\n")}; });
    scraper_config lax;
    lax.tls.skip_verify = true;
    auto s = make_scraper(lax);
    const auto results = scrape(
        *s, {tls_target(answers.port(), "x"), tls_target(silent.port(), "x")}, options_for(1000ms));
    CHECK(results[0].error == scrape_error::tls_error);
    CHECK(results[0].reason == "handshake");
    // A peer that never answers the ClientHello: the deadline names the phase.
    CHECK(results[1].error == scrape_error::timeout);
    CHECK(results[1].reason == "tls_handshake");
}

TEST_CASE("scrape TLS options: a certificate without a key is a startup error") {
    tls_options options;
    options.cert_file = "/nonexistent/cert.pem";
    CHECK_THROWS(make_client_context(options));
    options.key_file = "/nonexistent/key.pem";
    CHECK_THROWS(make_client_context(options));
    tls_options bad_ca;
    bad_ca.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS(make_client_context(bad_ca));
}
