// The TLS session under the gRPC client's transport, without sockets: a client and a server
// session paired in memory (certificates made with the openssl CLI in a temporary directory),
// the client's records going to a sink that takes only so much, as a non-blocking socket does.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include "grpc/tls_session.hpp"

using mgw::grpc::tls_session;
using mgw::grpc::tls_sink;
using status = tls_session::status;

namespace {

// A CA, a server certificate for `metron` and a client certificate it signed, and a client
// certificate from another CA.
struct certificates {
    certificates() {
        char name[] = "/tmp/mgw-grpc-tls-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        dir = name;
        const std::string d = dir.string() + "/";
        const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        run("openssl req -x509" + key + " -days 1 -subj /CN=ca -keyout " + d + "ca.key -out " + d +
            "ca.pem");
        run("openssl req -x509" + key + " -days 1 -subj /CN=other -keyout " + d +
            "other.key -out " + d + "other.pem");
        run("printf 'subjectAltName=DNS:metron\\n' > " + d + "san.cnf");
        sign("server", "metron", "ca", true);
        sign("client", "client", "ca", false);
        sign("stranger", "client", "other", false);
    }
    ~certificates() { std::filesystem::remove_all(dir); }

    static void run(const std::string& command) {
        REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
    }
    void sign(const std::string& who, const std::string& cn, const std::string& ca, bool san) {
        const std::string d = dir.string() + "/";
        run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
            " -keyout " + d + who + ".key -out " + d + who + ".csr");
        run("openssl x509 -req -days 1 -in " + d + who + ".csr -CA " + d + ca + ".pem -CAkey " + d +
            ca + ".key -CAcreateserial -out " + d + who + ".pem" +
            (san ? " -extfile " + d + "san.cnf" : ""));
    }
    std::string path(const std::string& file) const { return (dir / file).string(); }

    std::filesystem::path dir;
};

const certificates& certs() {
    static const certificates made;
    return made;
}

using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

ctx_ptr context(bool server, const std::string& identity) {
    ctx_ptr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()), &SSL_CTX_free);
    REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), certs().path("ca.pem").c_str(), nullptr) == 1);
    if (!identity.empty()) {
        REQUIRE(SSL_CTX_use_certificate_file(ctx.get(), certs().path(identity + ".pem").c_str(),
                                             SSL_FILETYPE_PEM) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), certs().path(identity + ".key").c_str(),
                                            SSL_FILETYPE_PEM) == 1);
    }
    SSL_CTX_set_verify(ctx.get(),
                       server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       nullptr);
    return ctx;
}

// Takes `room` bytes at most (then nothing, as a full socket buffer), or fails.
struct test_sink final : tls_sink {
    std::ptrdiff_t send(const char* data, std::size_t size) override {
        if (broken) {
            return -1;
        }
        const std::size_t n = std::min(size, room);
        wire.append(data, n);
        room -= n;
        return static_cast<std::ptrdiff_t>(n);
    }
    std::string wire;
    std::size_t room = std::size_t{1} << 30;
    bool broken = false;
};

struct pair_of_sessions {
    explicit pair_of_sessions(const std::string& client_identity,
                              const std::string& server_name = "metron")
        : client_ctx(context(false, client_identity)), server_ctx(context(true, "server")) {
        SSL* c = SSL_new(client_ctx.get());
        SSL_set_connect_state(c);
        SSL_set_tlsext_host_name(c, server_name.c_str());
        SSL_set1_host(c, server_name.c_str());
        client = std::make_unique<tls_session>(c, &sink);
        SSL* s = SSL_new(server_ctx.get());
        SSL_set_accept_state(s);
        server = std::make_unique<tls_session>(s);
    }

    // What the client sent (the sink's, then what it kept) to the server, and back.
    void to_server() {
        std::string kept;
        client->begin_flush(kept);
        client->end_flush();
        server->feed(sink.wire + kept);
        sink.wire.clear();
    }
    void to_client() {
        std::string out;
        server->begin_flush(out);
        server->end_flush();
        client->feed(out);
    }

    // Both sides' handshake steps until neither needs the other: the client's result.
    status handshake() {
        status c = status::want_read;
        status s = status::want_read;
        for (int round = 0; round < 10 && (c == status::want_read || s == status::want_read);
             ++round) {
            if (c == status::want_read) {
                c = client->handshake();
            }
            to_server();
            if (s == status::want_read) {
                s = server->handshake();
            }
            to_client();
        }
        return c;
    }

    std::string read_all(tls_session& from, status& last) {
        std::string got;
        char buffer[4096];
        for (;;) {
            std::size_t n = 0;
            last = from.read(buffer, sizeof buffer, n);
            if (last != status::done) {
                return got;
            }
            got.append(buffer, n);
        }
    }

    ctx_ptr client_ctx;
    ctx_ptr server_ctx;
    test_sink sink;
    std::unique_ptr<tls_session> client;
    std::unique_ptr<tls_session> server;
};

std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return out;
}

}  // namespace

TEST_CASE("a TLS session hands its records to the sink and keeps only what the sink refused") {
    pair_of_sessions p("client");
    REQUIRE(p.handshake() == status::done);
    REQUIRE(p.server->handshake() == status::done);
    p.to_server();  // the client's last flight
    status last = status::done;
    p.read_all(*p.server, last);
    REQUIRE(last == status::want_read);

    // 100,000 bytes make 7 records; the socket takes 5,000 bytes of them.
    p.sink.wire.clear();
    p.sink.room = 5000;
    const std::string body = pattern(100000);
    REQUIRE(p.client->write(body) == status::done);
    CHECK(p.sink.wire.size() == 5000);
    REQUIRE(p.client->has_pending());

    // While the shell writes what was kept, new records queue behind it even though the
    // socket has room again: the order on the wire is the order of the records.
    std::string flushing;
    p.client->begin_flush(flushing);
    CHECK_FALSE(p.client->has_pending());
    p.sink.room = std::size_t{1} << 30;
    REQUIRE(p.client->write("tail") == status::done);
    CHECK(p.sink.wire.size() == 5000);
    CHECK(p.client->has_pending());
    p.client->end_flush();
    std::string rest;
    p.client->begin_flush(rest);
    p.client->end_flush();

    p.server->feed(p.sink.wire + flushing + rest);
    const std::string got = p.read_all(*p.server, last);
    CHECK(last == status::want_read);
    CHECK(got.size() == body.size() + 4);
    CHECK(got == body + "tail");

    // With the socket taking everything, nothing is kept (no copy).
    p.sink.wire.clear();
    REQUIRE(p.client->write(body) == status::done);
    CHECK_FALSE(p.client->has_pending());
    p.server->feed(p.sink.wire);
    CHECK(p.read_all(*p.server, last) == body);
}

TEST_CASE("a TLS session answers the peer's records and reads what it sent, in pieces") {
    pair_of_sessions p("client");
    REQUIRE(p.handshake() == status::done);
    const std::string reply = pattern(40000);
    REQUIRE(p.server->write(reply) == status::done);
    std::string out;
    p.server->begin_flush(out);
    p.server->end_flush();
    // Fed a few bytes at a time, as reads from the socket may come.
    std::string got;
    status last = status::done;
    for (std::size_t at = 0; at < out.size(); at += 997) {
        p.client->feed(std::string_view(out).substr(at, 997));
        got += p.read_all(*p.client, last);
        REQUIRE(last == status::want_read);
    }
    CHECK(got == reply);
}

TEST_CASE("a TLS session fails with the server's alert when its certificate is not trusted") {
    pair_of_sessions p("stranger");
    const status handshake = p.handshake();
    status last = handshake;
    if (handshake == status::done) {
        // TLS 1.3: the server checks the client's certificate after the client is done.
        p.read_all(*p.client, last);
    }
    REQUIRE(last == status::failed);
    INFO(p.client->error());
    CHECK(p.client->error().find("alert") != std::string::npos);
    CHECK(p.client->error().find("unknown ca") != std::string::npos);
}

TEST_CASE("a TLS session refuses a server whose certificate is for another name") {
    pair_of_sessions p("client", "not-metron");
    REQUIRE(p.handshake() == status::failed);
    INFO(p.client->error());
    CHECK(p.client->error().find("certificate verify failed") != std::string::npos);
}

TEST_CASE("a TLS session fails a write the transport refuses") {
    pair_of_sessions p("client");
    REQUIRE(p.handshake() == status::done);
    p.sink.broken = true;
    CHECK(p.client->write("anything") == status::failed);
    CHECK(p.client->sink_failed());
    CHECK(p.client->error() == "the transport failed");
}

TEST_CASE("a TLS session reports the peer's close_notify as closed") {
    pair_of_sessions p("client");
    REQUIRE(p.handshake() == status::done);
    p.server->shutdown();
    p.to_client();
    status last = status::done;
    p.read_all(*p.client, last);
    CHECK(last == status::closed);
}
