// The shells around the connection core: the listener (TLS with ALPN h2, a connection limit),
// each connection's reader, writer and timer coroutines on its strand, the dispatch of the
// core's events to calls, and the metrics mirrored from the cores' counters.
#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <system_error>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/core/listener.hpp>
#include <mgw/core/transfer_whole.hpp>
#include <mgw/grpc/server.hpp>

namespace mgw::grpc {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How long a connection that failed may take to write its GOAWAY before its socket is closed.
constexpr auto close_flush_time = std::chrono::seconds(2);
constexpr std::size_t read_buffer_bytes = std::size_t{32} * 1024;
// The lingering close of a connection ended for misbehaving: at most this long and this much.
constexpr auto linger_time = std::chrono::seconds(1);
constexpr std::size_t max_linger_bytes = std::size_t{4} * 1024 * 1024;

// RFC 9113 §9.2.2: TLS 1.2 with HTTP/2 needs ephemeral key exchange and an AEAD cipher.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Selects "h2" from the client's ALPN list; a client that offers ALPN without h2 is refused
// in the handshake (no_application_protocol), as gRPC servers do.
int select_h2(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
              unsigned int in_length, void*) {
    for (unsigned int i = 0; i < in_length;) {
        const unsigned int length = in[i];
        if (i + 1 + length > in_length) {
            break;
        }
        if (length == 2 && in[i + 1] == 'h' && in[i + 2] == '2') {
            *out = in + i + 1;
            *out_length = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + length;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

std::shared_ptr<ssl::context> make_tls_context(const server_options& options) {
    if (options.cert_file.empty() || options.key_file.empty()) {
        throw std::runtime_error("grpc: tls cert_file and key_file are required");
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx->native_handle(), tls12_ciphers);
    SSL_CTX_set_alpn_select_cb(ctx->native_handle(), &select_h2, nullptr);
    error_code ec;
    ctx->use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
        throw std::runtime_error("grpc: cannot load certificate " + options.cert_file + ": " +
                                 ec.message());
    }
    ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) {
        throw std::runtime_error("grpc: cannot load private key " + options.key_file + ": " +
                                 ec.message());
    }
    return ctx;
}

}  // namespace

// The metrics of one server, every label from a fixed set.
struct server_metrics {
    server_metrics(prometheus::Registry& r, const std::string& listener,
                   const std::vector<std::string>& methods)
        : connections(prometheus::BuildGauge()
                          .Name("mgw_grpc_connections")
                          .Help("Open gRPC (HTTP/2) connections.")
                          .Register(r)
                          .Add({{"listener", listener}})),
          calls(prometheus::BuildGauge()
                    .Name("mgw_grpc_calls")
                    .Help("Open gRPC calls (streams being served).")
                    .Register(r)
                    .Add({{"listener", listener}})),
          accepted(prometheus::BuildCounter()
                       .Name("mgw_grpc_connections_accepted_total")
                       .Help("gRPC connections that completed TLS with ALPN h2.")
                       .Register(r)
                       .Add({{"listener", listener}})),
          refused_family(prometheus::BuildCounter()
                             .Name("mgw_grpc_connections_refused_total")
                             .Help("gRPC connections refused before HTTP/2, by reason.")
                             .Register(r)),
          errors_family(prometheus::BuildCounter()
                            .Name("mgw_grpc_connection_errors_total")
                            .Help("gRPC connections ended for a protocol violation, a flood or "
                                  "a keepalive timeout, by reason.")
                            .Register(r)),
          refusals_family(prometheus::BuildCounter()
                              .Name("mgw_grpc_stream_refusals_total")
                              .Help("gRPC streams refused for breaking a limit, by reason.")
                              .Register(r)),
          finished_family(prometheus::BuildCounter()
                              .Name("mgw_grpc_calls_finished_total")
                              .Help("gRPC calls ended, by method and status code.")
                              .Register(r)),
          pings_received(prometheus::BuildCounter()
                             .Name("mgw_grpc_pings_received_total")
                             .Help("HTTP/2 PINGs received from gRPC clients.")
                             .Register(r)
                             .Add({{"listener", listener}})),
          pings_sent(prometheus::BuildCounter()
                         .Name("mgw_grpc_pings_sent_total")
                         .Help("Keepalive PINGs sent to idle gRPC clients.")
                         .Register(r)
                         .Add({{"listener", listener}})),
          messages_sent(prometheus::BuildCounter()
                            .Name("mgw_grpc_messages_sent_total")
                            .Help("gRPC messages written to clients.")
                            .Register(r)
                            .Add({{"listener", listener}})),
          messages_received(prometheus::BuildCounter()
                                .Name("mgw_grpc_messages_received_total")
                                .Help("gRPC messages received from clients.")
                                .Register(r)
                                .Add({{"listener", listener}})) {
        for (std::string_view reason : {"max_connections", "handshake", "alpn"}) {
            refused.emplace(
                std::string(reason),
                &refused_family.Add({{"listener", listener}, {"reason", std::string(reason)}}));
        }
        for (std::size_t i = 0; i < connection_failure_count; ++i) {
            errors[i] = &errors_family.Add(
                {{"listener", listener},
                 {"reason", std::string(to_string(static_cast<connection_failure>(i)))}});
        }
        for (std::size_t i = 0; i < stream_refusal_count; ++i) {
            refusals[i] = &refusals_family.Add(
                {{"listener", listener},
                 {"reason", std::string(to_string(static_cast<stream_refusal>(i)))}});
        }
        std::vector<std::string> labels = methods;
        labels.emplace_back("unknown");
        for (const std::string& method : labels) {
            auto& per_code = finished[method];
            for (std::size_t c = 0; c < per_code.size(); ++c) {
                per_code[c] = &finished_family.Add(
                    {{"listener", listener},
                     {"method", method},
                     {"code", std::string(to_string(static_cast<status_code>(c)))}});
            }
        }
    }

    void call_finished(const std::string& method, status_code code) {
        const auto it = finished.find(method);
        if (it != finished.end()) {
            it->second.at(static_cast<std::size_t>(code))->Increment();
        }
    }

    prometheus::Gauge& connections;
    prometheus::Gauge& calls;
    prometheus::Counter& accepted;
    prometheus::Family<prometheus::Counter>& refused_family;
    prometheus::Family<prometheus::Counter>& errors_family;
    prometheus::Family<prometheus::Counter>& refusals_family;
    prometheus::Family<prometheus::Counter>& finished_family;
    prometheus::Counter& pings_received;
    prometheus::Counter& pings_sent;
    prometheus::Counter& messages_sent;
    prometheus::Counter& messages_received;
    std::map<std::string, prometheus::Counter*, std::less<>> refused;
    std::array<prometheus::Counter*, connection_failure_count> errors{};
    std::array<prometheus::Counter*, stream_refusal_count> refusals{};
    std::map<std::string, std::array<prometheus::Counter*, 17>, std::less<>> finished;
};

struct server::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io_, server_options o, core::memory_budget& b, core::logger& l,
         prometheus::Registry& r)
        : io(io_),
          options(std::move(o)),
          budget(b),
          log(l),
          registry(r),
          tls(make_tls_context(options)),
          strand(asio::make_strand(io)),
          acceptor(strand) {
        options.connection.side = role::server;
    }

    asio::io_context& io;
    server_options options;
    core::memory_budget& budget;
    core::logger& log;
    prometheus::Registry& registry;
    std::shared_ptr<ssl::context> tls;
    asio::strand<asio::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    std::map<std::string, method_handler, std::less<>> methods;
    std::unique_ptr<server_metrics> metrics;

    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<server_connection>> connections;
    std::uint64_t next_id = 1;
    bool draining = false;

    // One warning per 10 s at most about misbehaving clients.
    std::mutex log_mutex;
    clock::time_point last_warning{};
    std::uint64_t warnings_suppressed = 0;

    void warn(std::string_view message, core::log_fields fields) {
        {
            const std::lock_guard lock(log_mutex);
            const auto now = clock::now();
            if (now - last_warning < std::chrono::seconds(10)) {
                ++warnings_suppressed;
                return;
            }
            last_warning = now;
        }
        log.warn(message, fields);
    }

    asio::awaitable<void> accept_loop();
    void forget(std::uint64_t id);
};

// One client connection.
class server_connection : public std::enable_shared_from_this<server_connection> {
  public:
    using strand_type = asio::strand<asio::io_context::executor_type>;

    server_connection(std::shared_ptr<server::impl> server, tcp::socket socket, std::uint64_t id)
        : server_(std::move(server)),
          strand_(asio::make_strand(server_->io)),
          stream_(std::move(socket), *server_->tls),
          id_(id),
          write_signal_(strand_),
          tick_(strand_) {}

    const strand_type& strand() const { return strand_; }
    connection& core() { return *core_; }
    bool draining() const { return core_ && core_->draining(); }

    asio::awaitable<void> run() {
        auto self = shared_from_this();
        if (!co_await handshake()) {
            close_socket();
            co_return;
        }
        server_->metrics->accepted.Increment();
        server_->metrics->connections.Increment();
        core_.emplace(server_->options.connection, server_->budget, clock::now());
        if (drain_requested_) {
            core_->shutdown(clock::now());
        }
        co_await (read_loop() || write_loop() || timer_loop());
        stopping_ = true;
        if (core_->failure()) {
            co_await linger();
        }
        std::vector<event> events;
        core_->transport_lost(events);
        dispatch(events);
        sync_counters();
        if (const auto failure = core_->failure()) {
            server_->metrics->errors[static_cast<std::size_t>(*failure)]->Increment();
            server_->warn("grpc connection closed", {{"listener", server_->options.name},
                                                     {"reason", to_string(*failure)},
                                                     {"remote", remote_}});
        }
        close_socket();
        server_->metrics->connections.Decrement();
    }

    // From any thread.
    void request_drain() {
        asio::dispatch(strand_, [self = shared_from_this()] {
            self->drain_requested_ = true;
            if (self->core_) {
                self->core_->shutdown(clock::now());
                self->rearm();
                self->signal_write();
                for (auto& [id, call] : self->calls_) {
                    call->notify();
                }
            }
        });
    }

    void request_close() {
        asio::dispatch(strand_, [self = shared_from_this()] { self->close_socket(); });
    }

    // A call changed the core (sent, finished): let the writer run.
    void signal_write() { write_signal_.cancel(); }

    void retire(stream_id id, const std::shared_ptr<server_call>& call) {
        if (call->undelivered_) {
            retired_[id] = std::move(call->undelivered_);
        }
    }

  private:
    asio::awaitable<bool> handshake() {
        error_code ignored;
        const auto endpoint = stream_.lowest_layer().remote_endpoint(ignored);
        remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
        asio::steady_timer timer(strand_, server_->options.handshake_timeout);
        auto result = co_await (stream_.async_handshake(ssl::stream_base::server, use_tuple) ||
                                timer.async_wait(use_tuple));
        if (result.index() == 1 || std::get<0>(std::get<0>(result))) {
            server_->metrics->refused.at("handshake")->Increment();
            co_return false;
        }
        const unsigned char* alpn = nullptr;
        unsigned int alpn_length = 0;
        SSL_get0_alpn_selected(stream_.native_handle(), &alpn, &alpn_length);
        if (alpn_length != 2 || alpn[0] != 'h' || alpn[1] != '2') {
            // A client that sent no ALPN at all: gRPC needs h2 negotiated.
            server_->metrics->refused.at("alpn")->Increment();
            co_return false;
        }
        co_return true;
    }

    // Closing a socket with unread input makes the kernel reset the connection, and a peer
    // that is still sending (a flooder) may then never read our GOAWAY: shut our side, read
    // and discard for a moment, then close (as web servers' lingering close).
    asio::awaitable<void> linger() {
        error_code ignored;
        stream_.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
        std::vector<char> discard(std::size_t{16} * 1024);
        asio::steady_timer deadline(strand_, linger_time);
        std::size_t total = 0;
        while (total < max_linger_bytes) {
            auto result =
                co_await (stream_.next_layer().async_read_some(asio::buffer(discard), use_tuple) ||
                          deadline.async_wait(use_tuple));
            if (result.index() == 1) {
                break;  // the deadline
            }
            auto [ec, n] = std::get<0>(result);
            if (ec) {
                break;
            }
            total += n;
        }
    }

    asio::awaitable<void> read_loop() {
        std::vector<char> buffer(read_buffer_bytes);
        std::vector<event> events;
        for (;;) {
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buffer), use_tuple);
            if (ec) {
                co_return;
            }
            events.clear();
            const bool open =
                core_->receive(std::string_view(buffer.data(), n), clock::now(), events);
            dispatch(events);
            sync_counters();
            rearm();
            signal_write();
            if (!open) {
                break;
            }
        }
        // Let the writer send the GOAWAY; it ends the connection when nothing is left.
        closing_ = true;
        signal_write();
        asio::steady_timer flush(strand_, close_flush_time);
        co_await flush.async_wait(use_tuple);
    }

    asio::awaitable<void> write_loop() {
        std::string out;
        std::vector<event> events;
        for (;;) {
            out.clear();
            events.clear();
            core_->take_output(out, server_->options.max_write_bytes, events);
            dispatch(events);
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out),
                                                          core::transfer_whole, use_tuple);
                if (ec) {
                    co_return;
                }
                events.clear();
                core_->output_written(events);
                retired_.clear();
                dispatch(events);
                sync_counters();
                rearm();
                continue;
            }
            if (closing_ || core_->closing()) {
                co_return;
            }
            write_signal_.expires_at(clock::time_point::max());
            co_await write_signal_.async_wait(use_tuple);
            if ((co_await asio::this_coro::cancellation_state).cancelled() !=
                asio::cancellation_type::none) {
                co_return;
            }
        }
    }

    asio::awaitable<void> timer_loop() {
        std::vector<event> events;
        for (;;) {
            tick_.expires_at(core_->next_timer());
            armed_at_ = tick_.expiry();
            co_await tick_.async_wait(use_tuple);
            if ((co_await asio::this_coro::cancellation_state).cancelled() !=
                asio::cancellation_type::none) {
                co_return;
            }
            const auto now = clock::now();
            if (now < core_->next_timer()) {
                continue;  // re-armed for an earlier time, or woken early
            }
            events.clear();
            core_->on_timer(now, events);
            dispatch(events);
            sync_counters();
            signal_write();
            if (core_->closing()) {
                closing_ = true;
                co_return;
            }
        }
    }

    // The core's next timer may have moved earlier (a new deadline, a ping sent).
    void rearm() {
        if (core_ && core_->next_timer() < armed_at_) {
            tick_.cancel();
        }
    }

    void dispatch(std::vector<event>& events) {
        for (event& e : events) {
            std::visit([this](auto& x) { on_event(x); }, e);
        }
        events.clear();
    }

    void on_event(call_started& e) {
        const auto method = server_->methods.find(e.path);
        if (method == server_->methods.end() || drain_requested_) {
            const bool unknown = method == server_->methods.end();
            core_->finish(e.stream, unknown ? status_code::unimplemented : status_code::unavailable,
                          unknown ? "unknown method " + e.path : "the server is shutting down");
            server_->metrics->call_finished(
                unknown ? "unknown" : method->first,
                unknown ? status_code::unimplemented : status_code::unavailable);
            signal_write();
            return;
        }
        const stream_id id = e.stream;
        auto call = std::make_shared<server_call>(shared_from_this(), std::move(e), method->first);
        calls_.emplace(id, call);
        server_->metrics->calls.Increment();
        asio::co_spawn(strand_, method->second(call),
                       [call, server = server_](const std::exception_ptr& error) {
                           if (error && !call->done()) {
                               try {
                                   std::rethrow_exception(error);
                               } catch (const std::exception& x) {
                                   server->log.error(
                                       "grpc handler failed",
                                       {{"method", call->path()}, {"error", x.what()}});
                               }
                               call->finish(status_code::internal, "internal error");
                           } else if (!call->finished() && !call->done()) {
                               call->finish(status_code::ok, "");
                           }
                       });
    }

    void on_event(message_received& e) {
        if (auto* call = find(e.stream)) {
            call->inbox_.push_back(std::move(e.payload));
            call->notify();
        }
    }

    void on_event(half_closed& e) {
        if (auto* call = find(e.stream)) {
            call->half_closed_ = true;
            call->notify();
        }
    }

    void on_event(stream_writable& e) {
        if (auto* call = find(e.stream)) {
            call->notify();
        }
    }

    void on_event(messages_undelivered& e) {
        if (auto* call = find(e.stream); call != nullptr && call->undelivered_) {
            call->undelivered_(std::move(e.messages));
            return;
        }
        if (const auto it = retired_.find(e.stream); it != retired_.end()) {
            it->second(std::move(e.messages));
        }
    }

    void on_event(stream_closed& e) {
        const auto it = calls_.find(e.stream);
        if (it == calls_.end()) {
            return;
        }
        std::shared_ptr<server_call> call = it->second;
        calls_.erase(it);
        server_->metrics->calls.Decrement();
        if (!call->finished_) {
            const bool expired = call->deadline() && clock::now() >= *call->deadline();
            server_->metrics->call_finished(
                call->method_label_,
                expired ? status_code::deadline_exceeded : status_code::cancelled);
        } else {
            server_->metrics->call_finished(call->method_label_, call->status_);
        }
        call->done_ = true;
        retire(e.stream, call);
        call->notify();
    }

    void on_event(goaway_received&) {}
    void on_event(response_started&) {}
    void on_event(call_finished&) {}

    server_call* find(stream_id id) {
        const auto it = calls_.find(id);
        return it == calls_.end() ? nullptr : it->second.get();
    }

    void sync_counters() {
        const connection_counters& c = core_->counters();
        auto& m = *server_->metrics;
        for (std::size_t i = 0; i < stream_refusal_count; ++i) {
            if (c.refusals[i] != seen_.refusals[i]) {
                m.refusals[i]->Increment(static_cast<double>(c.refusals[i] - seen_.refusals[i]));
            }
        }
        m.pings_received.Increment(static_cast<double>(c.pings_received - seen_.pings_received));
        m.pings_sent.Increment(static_cast<double>(c.pings_sent - seen_.pings_sent));
        m.messages_sent.Increment(static_cast<double>(c.messages_sent - seen_.messages_sent));
        m.messages_received.Increment(
            static_cast<double>(c.messages_received - seen_.messages_received));
        seen_ = c;
    }

    void close_socket() {
        error_code ignored;
        stream_.lowest_layer().close(ignored);
        write_signal_.cancel();
        tick_.cancel();
    }

    std::shared_ptr<server::impl> server_;
    strand_type strand_;
    ssl::stream<tcp::socket> stream_;
    std::uint64_t id_;
    std::string remote_;
    std::optional<connection> core_;
    std::map<stream_id, std::shared_ptr<server_call>> calls_;
    // Undelivered-message sinks of calls whose stream closed while their last messages were in
    // the write under way; cleared when that write completes.
    std::map<stream_id, server_call::undelivered_function> retired_;
    asio::steady_timer write_signal_;
    asio::steady_timer tick_;
    clock::time_point armed_at_ = clock::time_point::max();
    connection_counters seen_;
    bool closing_ = false;
    bool stopping_ = false;
    bool drain_requested_ = false;

    friend class server_call;
};

// --- server_call ---------------------------------------------------------------------------

server_call::server_call(std::shared_ptr<server_connection> connection, call_started request,
                         std::string method_label)
    : connection_(std::move(connection)),
      request_(std::move(request)),
      method_label_(std::move(method_label)),
      signal_(connection_->strand()) {}

server_call::~server_call() = default;

asio::any_io_executor server_call::get_executor() const {
    return connection_->strand();
}

asio::awaitable<std::optional<std::string>> server_call::read() {
    for (;;) {
        if (!inbox_.empty()) {
            std::string message = std::move(inbox_.front());
            inbox_.pop_front();
            co_return message;
        }
        if (half_closed_ || done_) {
            co_return std::nullopt;
        }
        co_await changed();
    }
}

void server_call::start_response() {
    if (!done_ && !finished_) {
        connection_->core().start_response(request_.stream);
        connection_->signal_write();
    }
}

send_result server_call::send(outgoing_message message) {
    if (done_ || finished_) {
        return send_result::closed;
    }
    const send_result result =
        connection_->core().send_message(request_.stream, std::move(message));
    if (result == send_result::queued) {
        connection_->signal_write();
    }
    return result;
}

std::size_t server_call::send_room() const {
    return done_ || finished_ ? 0 : connection_->core().send_room(request_.stream);
}

void server_call::finish(status_code status, std::string_view message) {
    if (done_ || finished_) {
        return;
    }
    finished_ = true;
    status_ = status;
    connection_->core().finish(request_.stream, status, message);
    connection_->signal_write();
}

bool server_call::draining() const {
    return connection_->draining();
}

asio::awaitable<void> server_call::changed() {
    if (pending_change_) {
        pending_change_ = false;
        co_return;
    }
    signal_.expires_at(clock::time_point::max());
    co_await signal_.async_wait(use_tuple);
    pending_change_ = false;
}

void server_call::notify() {
    pending_change_ = true;
    signal_.cancel();
    if (on_change_) {
        on_change_();
    }
}

// --- server --------------------------------------------------------------------------------

void server::impl::forget(std::uint64_t id) {
    const std::lock_guard lock(mutex);
    connections.erase(id);
}

asio::awaitable<void> server::impl::accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(strand);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(io.get_executor(), use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            log.warn("grpc accept failed", {{"listener", options.name}, {"error", ec.message()}});
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        std::shared_ptr<server_connection> conn;
        std::uint64_t id = 0;
        {
            const std::lock_guard lock(mutex);
            if (draining || connections.size() >= options.max_connections) {
                metrics->refused.at("max_connections")->Increment();
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            id = next_id++;
            conn = std::make_shared<server_connection>(self, std::move(socket), id);
            connections.emplace(id, conn);
        }
        asio::co_spawn(conn->strand(), conn->run(),
                       [self, id](const std::exception_ptr&) { self->forget(id); });
    }
}

server::server(asio::io_context& io, server_options options, core::memory_budget& budget,
               core::logger& log, prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(io, std::move(options), budget, log, registry)) {}

server::~server() {
    stop();
}

void server::add_method(std::string path, method_handler handler) {
    impl_->methods.emplace(std::move(path), std::move(handler));
}

void server::start() {
    std::vector<std::string> methods;
    for (const auto& [path, handler] : impl_->methods) {
        methods.push_back(path);
    }
    impl_->metrics =
        std::make_unique<server_metrics>(impl_->registry, impl_->options.name, methods);
    const tcp::endpoint endpoint =
        core::resolve_listen_endpoint("grpc", impl_->options.host, impl_->options.port);
    impl_->port = core::open_listener(impl_->acceptor, "grpc", endpoint).port();
    asio::co_spawn(impl_->strand, impl_->accept_loop(), asio::detached);
}

std::uint16_t server::local_port() const {
    return impl_->port;
}

std::size_t server::open_connections() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->connections.size();
}

asio::awaitable<bool> server::drain(clock::time_point deadline) {
    auto self = impl_;
    co_await asio::dispatch(asio::bind_executor(self->strand, asio::use_awaitable));
    error_code ignored;
    self->acceptor.close(ignored);
    std::vector<std::shared_ptr<server_connection>> open;
    {
        const std::lock_guard lock(self->mutex);
        self->draining = true;
        for (auto& [id, weak] : self->connections) {
            if (auto conn = weak.lock()) {
                open.push_back(std::move(conn));
            }
        }
    }
    for (auto& conn : open) {
        conn->request_drain();
    }
    open.clear();
    asio::steady_timer poll(self->strand);
    while (open_connections() > 0 && clock::now() < deadline) {
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(use_tuple);
    }
    const bool complete = open_connections() == 0;
    if (!complete) {
        stop();
    }
    co_return complete;
}

void server::stop() {
    auto self = impl_;
    asio::dispatch(self->strand, [self] {
        error_code ignored;
        self->acceptor.close(ignored);
    });
    const std::lock_guard lock(self->mutex);
    self->draining = true;
    for (auto& [id, weak] : self->connections) {
        if (auto conn = weak.lock()) {
            conn->request_close();
        }
    }
}

}  // namespace mgw::grpc
