// The client shell around the connection core: connect (resolve, TCP, TLS with ALPN h2 and the
// server's name checked, a client certificate), then a reader, a writer and a timer on the
// channel's strand raced with ||, each step of the core handed to the session. The writer ends
// the connection once it is closing and nothing is left to write; the reader ends it when the
// transport does. TLS is a tls_session over the bare socket (non-blocking, its sink): records
// go to the kernel from OpenSSL's buffer, and only what the socket cannot take at once is
// written asynchronously by the writer.
#include <algorithm>
#include <array>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <mgw/core/transfer_whole.hpp>
#include <mgw/grpc/client.hpp>

#include "tls_session.hpp"

namespace mgw::grpc {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_buffer_bytes = std::size_t{32} * 1024;
// The largest TLS record's plaintext (RFC 8446 §5.1): a write of more goes out in several.
constexpr std::size_t tls_record_bytes = std::size_t{16} * 1024;

constexpr std::array<std::string_view, client_failure_count> failure_names{"connect", "tls", "alpn",
                                                                           "closed", "protocol"};

// RFC 9113 §9.2.2, as the server: ephemeral key exchange and AEAD ciphers for TLS 1.2 (the
// Loggregator agent offers ECDHE-RSA-AES128/256-GCM only); TLS 1.3 uses OpenSSL's suites.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr std::array<unsigned char, 3> alpn_h2{2, 'h', '2'};

bool is_ip_literal(const std::string& name) {
    error_code ec;
    asio::ip::make_address(name, ec);
    return !ec;
}

std::shared_ptr<ssl::context> make_client_context(const client_options& options) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx->native_handle(), tls12_ciphers);
    // SSL_CTX_set_alpn_protos returns 0 on success (unlike most of OpenSSL).
    if (SSL_CTX_set_alpn_protos(ctx->native_handle(), alpn_h2.data(),
                                static_cast<unsigned>(alpn_h2.size())) != 0) {
        throw std::runtime_error("grpc client: cannot offer ALPN h2");
    }
    ctx->set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (options.ca_file.empty()) {
        ctx->set_default_verify_paths(ec);
    } else {
        ctx->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
        throw std::runtime_error("grpc client: cannot load CA " + options.ca_file + ": " +
                                 ec.message());
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
        throw std::runtime_error("grpc client: a client certificate needs both cert and key");
    }
    if (!options.cert_file.empty()) {
        ctx->use_certificate_chain_file(options.cert_file, ec);
        if (ec) {
            throw std::runtime_error("grpc client: cannot load certificate " + options.cert_file +
                                     ": " + ec.message());
        }
        ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
        if (ec) {
            throw std::runtime_error("grpc client: cannot load private key " + options.key_file +
                                     ": " + ec.message());
        }
        if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
            throw std::runtime_error("grpc client: " + options.key_file + " is not the key of " +
                                     options.cert_file);
        }
    }
    return ctx;
}

client_options normalized(client_options options) {
    options.connection.side = role::client;
    if (options.server_name.empty()) {
        options.server_name = options.host;
    }
    if (options.connection.authority.empty()) {
        options.connection.authority = options.host + ":" + std::to_string(options.port);
    }
    return options;
}

bool cancelled(asio::cancellation_state state) {
    return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

std::string_view to_string(client_failure failure) {
    return failure_names.at(static_cast<std::size_t>(failure));
}

struct client_channel::impl : std::enable_shared_from_this<impl>, tls_sink {
    impl(asio::io_context& io, client_options o, core::memory_budget& b)
        : options(normalized(std::move(o))),
          budget(b),
          tls(make_client_context(options)),
          strand(asio::make_strand(io)),
          write_signal(strand),
          tick(strand) {}

    client_options options;
    core::memory_budget& budget;
    std::shared_ptr<ssl::context> tls;
    executor_type strand;
    std::optional<tcp::socket> socket;
    std::unique_ptr<tls_session> session_tls;
    std::string sink_error;    // why the socket refused a record
    std::string flush_buffer;  // the TLS output being written asynchronously
    std::optional<connection> core;
    client_session* session = nullptr;
    asio::steady_timer write_signal;
    asio::steady_timer tick;
    clock::time_point armed_at = clock::time_point::max();
    client_outcome outcome;
    bool running = false;
    bool closing = false;       // the writer ends the connection once the output is flushed
    bool received_any = false;  // application data arrived on this transport
    bool opened = false;        // the server's preface arrived: the session was told on_open

    void fail(client_failure failure, std::string detail) {
        if (!outcome.failure && !closing) {
            outcome = {failure, std::move(detail)};
        }
        closing = true;
    }

    clock::time_point next_timer() const {
        return opened ? std::min(core->next_timer(), session->next_timer()) : core->next_timer();
    }

    void signal_write() { write_signal.cancel(); }

    // OpenSSL sends each record (16 KiB at most) with a send() of its own. Corked, the
    // records of one write leave together once it is done, so that the peer is woken, reads and
    // answers with its WINDOW_UPDATEs and PINGs once per write instead of once per record: on
    // loopback those wake-ups, and ours for its answers, cost more than the records themselves.
    // True when the socket was corked.
    bool cork(bool on) {
#ifdef TCP_CORK
        const int value = on ? 1 : 0;
        return ::setsockopt(socket->native_handle(), IPPROTO_TCP, TCP_CORK, &value, sizeof value) ==
               0;
#else
        (void)on;
        return false;
#endif
    }

    void rearm() {
        if (core && session != nullptr && next_timer() < armed_at) {
            tick.cancel();
        }
    }

    // One step of the core is done: the session reacts, then the writer and the timer.
    void progress(std::vector<event>& events, clock::time_point now) {
        if (opened) {
            session->on_progress(*core, events, now);
        }
        events.clear();
        if (opened && !closing && session->wants_close()) {
            closing = true;
            core->shutdown(now);
        }
        if (!closing && core->closing()) {
            note_core_end();
        }
        signal_write();
        rearm();
    }

    void note_core_end() {
        if (const auto failure = core->failure()) {
            fail(client_failure::protocol, std::string(to_string(*failure)));
        } else {
            fail(client_failure::closed, "the server ended the HTTP/2 connection (GOAWAY)");
        }
    }

    // tls_sink: a record straight to the kernel, as much as it takes without blocking.
    std::ptrdiff_t send(const char* data, std::size_t size) override {
        error_code ec;
        const std::size_t n = socket->send(asio::buffer(data, size), 0, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            return 0;
        }
        if (ec) {
            sink_error = ec.message();
            return -1;
        }
        return static_cast<std::ptrdiff_t>(n);
    }

    // What the socket did not take of the TLS output, written before anything else; an error
    // text when the transport failed.
    asio::awaitable<std::string> flush_tls() {
        while (session_tls->has_pending()) {
            session_tls->begin_flush(flush_buffer);
            auto [ec, n] = co_await asio::async_write(*socket, asio::buffer(flush_buffer),
                                                      core::transfer_whole, use_tuple);
            session_tls->end_flush();
            if (ec) {
                co_return ec.message();
            }
        }
        co_return std::string();
    }

    // The TLS handshake over the socket: OpenSSL's flights out, the server's in.
    asio::awaitable<std::string> handshake() {
        std::vector<char> buffer(read_buffer_bytes);
        for (;;) {
            const tls_session::status step = session_tls->handshake();
            if (session_tls->sink_failed()) {
                co_return sink_error;
            }
            if (std::string error = co_await flush_tls(); !error.empty()) {
                co_return error;
            }
            if (step == tls_session::status::done) {
                co_return std::string();
            }
            if (step != tls_session::status::want_read) {
                co_return step == tls_session::status::closed
                    ? std::string("the server closed the TLS session")
                    : session_tls->error();
            }
            auto [ec, n] = co_await socket->async_read_some(asio::buffer(buffer), use_tuple);
            if (ec) {
                co_return ec == asio::error::eof
                    ? std::string("the server closed the connection during the handshake")
                    : ec.message();
            }
            session_tls->feed(std::string_view(buffer.data(), n));
        }
    }

    void close_transport() {
        if (socket) {
            error_code ignored;
            socket->close(ignored);
        }
        write_signal.cancel();
        tick.cancel();
    }

    asio::awaitable<client_outcome> connect() {
        auto self = shared_from_this();
        session_tls.reset();
        socket.reset();
        socket.emplace(strand);
        asio::steady_timer deadline(strand, options.connect_timeout);
        const auto timeout = [this] {
            return client_outcome{
                client_failure::connect,
                "no connection within " + std::to_string(options.connect_timeout.count()) + " ms"};
        };

        tcp::resolver resolver(strand);
        auto resolved = co_await (
            resolver.async_resolve(options.host, std::to_string(options.port), use_tuple) ||
            deadline.async_wait(use_tuple));
        if (resolved.index() == 1) {
            co_return timeout();
        }
        auto [resolve_error, endpoints] = std::get<0>(std::move(resolved));
        if (resolve_error) {
            co_return client_outcome{client_failure::connect, "cannot resolve " + options.host +
                                                                  ": " + resolve_error.message()};
        }
        auto connected = co_await (asio::async_connect(*socket, endpoints, use_tuple) ||
                                   deadline.async_wait(use_tuple));
        if (connected.index() == 1) {
            close_transport();
            co_return timeout();
        }
        if (const error_code ec = std::get<0>(std::get<0>(connected))) {
            co_return client_outcome{
                client_failure::connect,
                options.host + ":" + std::to_string(options.port) + ": " + ec.message()};
        }
        error_code ignored;
        socket->set_option(tcp::no_delay(true), ignored);
        socket->non_blocking(true, ignored);

        SSL* native = SSL_new(tls->native_handle());
        if (native == nullptr) {
            close_transport();
            co_return client_outcome{client_failure::tls, "cannot create a TLS session"};
        }
        SSL_set_connect_state(native);
        session_tls = std::make_unique<tls_session>(native, this);
        if (is_ip_literal(options.server_name)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), options.server_name.c_str());
        } else {
            SSL_set_tlsext_host_name(native, options.server_name.c_str());
            SSL_set1_host(native, options.server_name.c_str());
        }
        auto handshaken = co_await (handshake() || deadline.async_wait(use_tuple));
        if (handshaken.index() == 1) {
            close_transport();
            co_return client_outcome{client_failure::tls,
                                     "TLS handshake not done within " +
                                         std::to_string(options.connect_timeout.count()) + " ms"};
        }
        if (std::string detail = std::get<0>(std::move(handshaken)); !detail.empty()) {
            close_transport();
            const long verify = SSL_get_verify_result(native);
            if (verify != X509_V_OK) {
                detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
            }
            co_return client_outcome{client_failure::tls, std::move(detail)};
        }
        const unsigned char* alpn = nullptr;
        unsigned int alpn_length = 0;
        SSL_get0_alpn_selected(native, &alpn, &alpn_length);
        if (alpn_length != 2 || alpn[0] != 'h' || alpn[1] != '2') {
            close_transport();
            co_return client_outcome{client_failure::alpn, "the server did not select ALPN h2"};
        }
        co_return client_outcome{};
    }

    asio::awaitable<client_outcome> run(client_session& s) {
        auto self = shared_from_this();
        session = &s;
        outcome = {};
        closing = false;
        received_any = false;
        armed_at = clock::time_point::max();
        opened = false;
        const auto started = clock::now();
        // The preface and SETTINGS are queued at once; the session waits for the server's.
        core.emplace(options.connection, budget, started);
        running = true;
        std::vector<event> none;
        progress(none, started);
        co_await (read_loop() || write_loop() || timer_loop());
        running = false;
        std::vector<event> events;
        core->transport_lost(events);
        if (opened) {
            session->on_progress(*core, events, clock::now());
        }
        close_transport();
        core.reset();
        session = nullptr;
        co_return outcome;
    }

    asio::awaitable<void> read_loop() {
        std::vector<char> buffer(read_buffer_bytes);
        std::vector<char> plain(read_buffer_bytes);
        std::vector<event> events;
        for (;;) {
            // Records already fed first: the handshake's last read may have brought the
            // server's first application data too.
            for (;;) {
                std::size_t got = 0;
                const tls_session::status step = session_tls->read(plain.data(), plain.size(), got);
                if (session_tls->has_pending()) {
                    signal_write();  // OpenSSL answered something (an alert, a key update)
                }
                if (step == tls_session::status::want_read) {
                    break;
                }
                if (step == tls_session::status::closed) {
                    fail(client_failure::closed, "the server closed the connection");
                    co_return;
                }
                if (step == tls_session::status::failed) {
                    if (!received_any) {
                        // An alert right after the handshake: with TLS 1.3 the server checks
                        // our certificate only once the client's handshake is over.
                        fail(client_failure::tls,
                             "the server refused the TLS session: " + session_tls->error());
                    } else {
                        fail(client_failure::closed, session_tls->error());
                    }
                    co_return;
                }
                received_any = true;
                events.clear();
                const auto now = clock::now();
                const bool open = core->receive(std::string_view(plain.data(), got), now, events);
                if (!opened && open) {
                    // The server's preface: it accepted the TLS session (our certificate
                    // included), so calls may start. Sending before this could lose messages
                    // to a server that is about to refuse us.
                    opened = true;
                    session->on_open(*core, now);
                }
                progress(events, now);
                if (!open) {
                    if (!closing) {
                        note_core_end();
                    }
                    signal_write();
                    // The writer flushes (a GOAWAY) and ends the connection; until then keep
                    // the socket read so that the server's close is seen.
                }
            }
            auto [ec, n] = co_await socket->async_read_some(asio::buffer(buffer), use_tuple);
            if (ec) {
                fail(client_failure::closed, ec == asio::error::eof
                                                 ? std::string("the server closed the connection")
                                                 : ec.message());
                co_return;
            }
            session_tls->feed(std::string_view(buffer.data(), n));
        }
    }

    asio::awaitable<void> write_loop() {
        std::string out;
        std::vector<event> events;
        for (;;) {
            out.clear();
            events.clear();
            core->take_output(out, options.max_write_bytes, events);
            if (!events.empty()) {
                progress(events, clock::now());
            }
            if (!out.empty()) {
                const bool corked = out.size() > tls_record_bytes && cork(true);
                const tls_session::status step = session_tls->write(out);
                if (corked) {
                    cork(false);
                }
                if (step != tls_session::status::done) {
                    fail(client_failure::closed,
                         session_tls->sink_failed() ? sink_error : session_tls->error());
                    co_return;
                }
                if (std::string error = co_await flush_tls(); !error.empty()) {
                    fail(client_failure::closed, std::move(error));
                    co_return;
                }
                events.clear();
                core->output_written(events);
                progress(events, clock::now());
                continue;
            }
            if (session_tls->has_pending()) {
                if (std::string error = co_await flush_tls(); !error.empty()) {
                    fail(client_failure::closed, std::move(error));
                    co_return;
                }
                continue;
            }
            if (closing) {
                co_return;
            }
            write_signal.expires_at(clock::time_point::max());
            co_await write_signal.async_wait(use_tuple);
            if (cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return;
            }
        }
    }

    asio::awaitable<void> timer_loop() {
        std::vector<event> events;
        for (;;) {
            armed_at = next_timer();
            tick.expires_at(armed_at);
            co_await tick.async_wait(use_tuple);
            if (cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return;
            }
            armed_at = clock::time_point::max();
            const auto now = clock::now();
            events.clear();
            if (now >= core->next_timer()) {
                core->on_timer(now, events);
            }
            // The session's own timer, or a poke: on_progress either way (it checks its clock).
            progress(events, now);
        }
    }

    void poke() {
        if (running && opened && core && session != nullptr) {
            std::vector<event> none;
            progress(none, clock::now());
        }
    }
};

client_channel::client_channel(asio::io_context& io, client_options options,
                               core::memory_budget& budget)
    : impl_(std::make_shared<impl>(io, std::move(options), budget)) {}

client_channel::~client_channel() {
    impl_->close_transport();
}

const client_channel::executor_type& client_channel::get_executor() const {
    return impl_->strand;
}

asio::awaitable<client_outcome> client_channel::connect() {
    return impl_->connect();
}

asio::awaitable<client_outcome> client_channel::run(client_session& session) {
    return impl_->run(session);
}

void client_channel::poke() {
    impl_->poke();
}

void client_channel::close() {
    asio::dispatch(impl_->strand, [self = impl_] { self->close_transport(); });
}

}  // namespace mgw::grpc
