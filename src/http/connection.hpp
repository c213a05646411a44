// HTTP server module (internal): the I/O shell of one HTTP/1.1 connection, plain or TLS. Every
// decision is connection_machine's; this file only reads, writes, runs handlers, sleeps until
// the machine's deadline and closes, on the connection's strand. Three coroutines: the reader
// (bytes in), the answerer (handlers and writes, in request order) and the watchdog. Included
// by connection_plain.cpp and connection_tls.cpp only: it is the one place that instantiates
// Beast's HTTP writing templates.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <mgw/core/transfer_whole.hpp>
#include <mgw/http/memory_refusal.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>

#include "accept_encoding.hpp"
#include "access_log.hpp"
#include "connection_machine.hpp"
#include "connection_registry.hpp"
#include "server_context.hpp"

namespace mgw::http {

namespace net = boost::asio;
namespace beast_http = boost::beast::http;

template <class Stream>
class connection final : public connection_base,
                         public response_sink,
                         public std::enable_shared_from_this<connection<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, net::ssl::stream<net::ip::tcp::socket>>;
    static constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
    using action = connection_machine::answer_action;
    using kind = action::kind;
    // Bytes read and dropped while lingering before the close.
    static constexpr std::size_t linger_bytes = 64 * 1024;

    class fields_source final : public request_context::header_source {
      public:
        explicit fields_source(const beast_http::fields& f) : fields_(f) {}
        std::optional<std::string_view> find(std::string_view name) const override {
            auto it = fields_.find(name);
            if (it == fields_.end()) {
                return std::nullopt;
            }
            return std::string_view(it->value().data(), it->value().size());
        }

      private:
        const beast_http::fields& fields_;
    };

    struct written {
        boost::system::error_code ec;
        std::uint64_t bytes = 0;
    };

  public:
    template <class... StreamArgs>
    connection(std::shared_ptr<server_context> ctx, StreamArgs&&... args)
        : ctx_(std::move(ctx)),
          stream_(std::forward<StreamArgs>(args)...),
          machine_(ctx_->options, ctx_->routes, ctx_->memory, clock::now()),
          watchdog_(stream_.get_executor()),
          reader_wake_(stream_.get_executor(), clock::time_point::max()),
          answerer_wake_(stream_.get_executor(), clock::time_point::max()) {}

    ~connection() override {
        ctx_->connections.remove(id_);
        ctx_->metrics.connection_closed();
    }

    void start() {
        ctx_->metrics.connection_opened();
        bool draining = false;
        id_ = ctx_->connections.add(this->weak_from_this(), draining);
        boost::system::error_code ec;
        remote_ = stream_.lowest_layer().remote_endpoint(ec);
        remote_text_ = remote_.address().to_string() + ":" + std::to_string(remote_.port());
        if (draining) {
            // A drain began before this connection was registered: it closes after (or
            // instead of) its first answer.
            apply(machine_.on_drain());
        }
        net::co_spawn(stream_.get_executor(), run(this->shared_from_this()), net::detached);
    }

    void drain() override {
        net::post(stream_.get_executor(),
                  [self = this->shared_from_this()] { self->apply(self->machine_.on_drain()); });
    }

    void cancel(net::cancellation_type type) override {
        net::post(stream_.get_executor(), [self = this->shared_from_this(), type] {
            self->apply(self->machine_.on_cancel(type));
        });
    }

    // response_sink: used by streamed responses while their handler runs.
    net::awaitable<boost::system::error_code> write_head(const response& res,
                                                         bool streamed) override {
        const auto framing = machine_.on_stream_head(streamed, wants_close(res));
        beast_http::response<beast_http::empty_body> head{res.status(),
                                                          machine_.current().request.version()};
        for (const auto& [name, value] : res.headers()) {
            head.insert(name, value);
        }
        chunked_ = framing.chunked;
        if (chunked_) {
            head.chunked(true);
        }
        head.keep_alive(framing.keep_alive);
        beast_http::response_serializer<beast_http::empty_body> serializer{head};
        begin_write();
        auto [ec, n] = co_await beast_http::async_write_header(stream_, serializer, use_nothrow);
        end_write(ec);
        co_return ec;
    }

    net::awaitable<boost::system::error_code> write_body(std::string_view data) override {
        begin_write();
        boost::system::error_code ec;
        if (chunked_) {
            std::tie(ec, std::ignore) = co_await net::async_write(
                stream_, beast_http::make_chunk(net::const_buffer(data.data(), data.size())),
                core::transfer_whole, use_nothrow);
        } else {
            std::tie(ec, std::ignore) =
                co_await net::async_write(stream_, net::const_buffer(data.data(), data.size()),
                                          core::transfer_whole, use_nothrow);
        }
        end_write(ec);
        co_return ec;
    }

    net::awaitable<boost::system::error_code> write_end() override {
        if (!chunked_) {
            co_return boost::system::error_code{};
        }
        begin_write();
        auto [ec, n] =
            co_await net::async_write(stream_, beast_http::make_chunk_last(), use_nothrow);
        end_write(ec);
        co_return ec;
    }

  private:
    static net::awaitable<void> run(std::shared_ptr<connection> self) {
        net::co_spawn(self->stream_.get_executor(), watch(self), net::detached);
        if constexpr (is_tls) {
            // Bounded by the idle deadline, like a request head.
            auto [ec] =
                co_await self->stream_.async_handshake(net::ssl::stream_base::server, use_nothrow);
            if (ec) {
                self->close_socket();
                co_return;
            }
        }
        net::co_spawn(self->stream_.get_executor(), read_requests(self), net::detached);
        co_await self->answer_requests();
    }

    // ---- the reader ---------------------------------------------------------------------

    static net::awaitable<void> read_requests(std::shared_ptr<connection> self) {
        co_await self->read_loop();
        self->notify();
    }

    net::awaitable<void> read_loop() {
        for (;;) {
            const auto next = machine_.next_read(clock::now());
            notify();
            switch (next) {
                case connection_machine::read_action::stop:
                    co_return;
                case connection_machine::read_action::wait:
                    co_await wait(reader_wake_);
                    break;
                case connection_machine::read_action::send_continue: {
                    beast_http::response<beast_http::empty_body> interim{
                        beast_http::status::continue_, 11};
                    begin_write();
                    auto [ec, n] = co_await beast_http::async_write(stream_, interim, use_nothrow);
                    end_write(ec);
                    apply(machine_.on_continue_written(ec));
                    break;
                }
                case connection_machine::read_action::read: {
                    auto [ec, n] =
                        co_await stream_.async_read_some(machine_.read_buffer(), use_nothrow);
                    apply(machine_.on_read(n, ec, clock::now()));
                    break;
                }
            }
        }
    }

    // ---- the answerer -------------------------------------------------------------------

    net::awaitable<void> answer_requests() {
        action next = machine_.next_answer(clock::now());
        for (;;) {
            notify();
            switch (next.type) {
                case kind::wait:
                    co_await wait(answerer_wake_);
                    next = machine_.next_answer(clock::now());
                    break;
                case kind::refuse:
                    next = co_await answer_refusal(next);
                    break;
                case kind::route_miss:
                    next = co_await answer_route_miss(next);
                    break;
                case kind::run_handler:
                    next = co_await answer_with_handler();
                    break;
                case kind::linger:
                    co_await linger();
                    apply(machine_.on_lingered());
                    co_return;
                case kind::close:
                    close_socket();
                    co_return;
                default:  // done (the others only come from the answer_* steps)
                    co_return;
            }
        }
    }

    response::init response_init(const exchange& x) {
        response::init init;
        init.sink = this;
        init.head_request = x.request.method() == beast_http::verb::head;
        init.gzip_min_bytes = ctx_->options.gzip_min_bytes;
        init.worker = ctx_->worker;
        const auto accept = x.request[beast_http::field::accept_encoding];
        init.gzip_accepted = accepts_gzip(std::string_view(accept.data(), accept.size()));
        return init;
    }

    net::awaitable<action> answer_with_handler() {
        exchange& x = machine_.current();
        const response::init init = response_init(x);
        response res(init);
        const bool ran = co_await run_handler(x, res);
        action next = machine_.on_handler_done({.threw = !ran,
                                                .streaming = res.streaming(),
                                                .finished = res.finished(),
                                                .wants_close = wants_close(res),
                                                .body_bytes = res.body().size()});
        notify();
        http::status code = res.status();
        std::uint64_t bytes = 0;
        if (next.type == kind::finish_stream) {
            co_await res.finish();
            machine_.on_stream_finished(res.finished());
            bytes = res.bytes_sent();
        } else if (next.type == kind::end) {
            bytes = res.bytes_sent();
        } else if (next.type == kind::write) {
            const written out = co_await write_complete(x.request.version(), res, next.keep_alive,
                                                        init.head_request);
            bytes = out.bytes;
            machine_.on_answer_written(out.ec);
        } else {
            response fallback(init);
            fill_fallback(fallback, next);
            code = fallback.status();
            res.body().clear();  // the refused answer is given back before the fallback waits
            res.body().shrink_to_fit();
            const written out = co_await write_complete(x.request.version(), fallback,
                                                        next.keep_alive, init.head_request);
            bytes = out.bytes;
            machine_.on_answer_written(out.ec);
        }
        finish_exchange(x, x.match.route->options.name, code, bytes);
        co_return machine_.end_exchange(clock::now());
    }

    void fill_fallback(response& fallback, const action& next) {
        using reason = connection_machine::fallback_reason;
        if (next.reason == reason::memory) {
            ctx_->metrics.reject(rejection::memory);
            answer_memory_refusal(fallback, "the answer");
            return;
        }
        fallback.status(next.status);
        fallback.set("Content-Type", "text/plain; charset=utf-8");
        fallback.body(next.reason == reason::timed_out ? "request timed out\n"
                                                       : "internal server error\n");
    }

    net::awaitable<action> answer_route_miss(const action& next) {
        exchange& x = machine_.current();
        const response::init init = response_init(x);
        response res(init);
        res.status(next.status);
        res.set("Content-Type", "text/plain; charset=utf-8");
        if (next.status == http::status::not_found) {
            res.body("404 page not found\n");
        } else {
            res.set("Allow", x.match.allow);
            res.body("405 method not allowed\n");
        }
        const written out =
            co_await write_complete(x.request.version(), res, next.keep_alive, init.head_request);
        machine_.on_answer_written(out.ec);
        finish_exchange(x, "unmatched", next.status, out.bytes);
        co_return machine_.end_exchange(clock::now());
    }

    net::awaitable<action> answer_refusal(const action& next) {
        exchange& x = machine_.current();
        ctx_->metrics.reject(*x.refused);
        response res(response::init{.sink = this, .gzip_min_bytes = ctx_->options.gzip_min_bytes});
        if (*x.refused == rejection::memory) {
            answer_memory_refusal(res, "the request");
        } else {
            res.status(next.status);
            res.set("Content-Type", "text/plain; charset=utf-8");
            res.body(refusal_text(next.status));
        }
        // The route completes its 413 (the push API's X-RateLimit-*, the broker's JSON),
        // however the body arrived.
        if (*x.refused == rejection::body_too_large && x.match.route != nullptr &&
            x.match.route->options.on_refused) {
            const fields_source headers(x.request.base());
            x.match.route->options.on_refused(headers, res);
        }
        const written out = co_await write_complete(11, res, false, false);
        machine_.on_answer_written(out.ec);
        finish_exchange(x, "rejected", res.status(), out.bytes);
        co_return machine_.end_exchange(clock::now());
    }

    static std::string refusal_text(http::status code) {
        switch (code) {
            case status::request_header_fields_too_large:
                return "431 request header fields too large\n";
            case status::payload_too_large:
                return "413 request entity too large\n";
            case status::not_implemented:
                return "501 transfer coding not implemented\n";
            case status::http_version_not_supported:
                return "505 http version not supported\n";
            default:
                return "400 bad request\n";
        }
    }

    // Runs the route's handler as a child coroutine whose cancellation slot the connection
    // owns, so that a disconnect, the request deadline or a drain can cancel it.
    net::awaitable<bool> run_handler(exchange& x, response& res) {
        const auto& req = x.request;
        fields_source headers(req.base());
        request_context::init init;
        init.method = req.method();
        auto method = req.method_string();
        init.method_string = std::string_view(method.data(), method.size());
        auto target = req.target();
        init.target = std::string_view(target.data(), target.size());
        init.path = std::move(x.target.path);
        init.query = std::move(x.target.query);
        init.body = &req.body();
        init.headers = &headers;
        init.remote = remote_;
        init.deadline = x.deadline;
        init.version = req.version();
        request_context context(std::move(init));

        current_context_ = &context;
        auto [error] = co_await net::co_spawn(
            stream_.get_executor(), x.match.route->handler(context, res),
            net::bind_cancellation_slot(handler_signal_.slot(), use_nothrow));
        current_context_ = nullptr;
        handler_signal_.slot().clear();

        if (error && context.cancellation_requested() == net::cancellation_type::none) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                ctx_->log.error("http handler failed", {{"route", x.match.route->options.name},
                                                        {"uri", context.target()},
                                                        {"error", e.what()}});
            } catch (...) {
                ctx_->log.error("http handler failed", {{"route", x.match.route->options.name}});
            }
        }
        co_return !error;
    }

    net::awaitable<written> write_complete(unsigned version, response& res, bool keep, bool head) {
        res.compress_complete_body();
        boost::system::error_code ec;
        std::uint64_t size = res.body().size();
        begin_write();
        if (head) {
            beast_http::response<beast_http::empty_body> msg{res.status(), version};
            for (const auto& [name, value] : res.headers()) {
                msg.insert(name, value);
            }
            msg.keep_alive(keep);
            msg.content_length(size);
            std::tie(ec, std::ignore) = co_await beast_http::async_write(stream_, msg, use_nothrow);
            size = 0;
        } else {
            beast_http::response<beast_http::string_body> msg{res.status(), version};
            for (const auto& [name, value] : res.headers()) {
                msg.insert(name, value);
            }
            msg.body() = std::move(res.body());
            msg.keep_alive(keep);
            msg.prepare_payload();
            std::tie(ec, std::ignore) = co_await beast_http::async_write(stream_, msg, use_nothrow);
        }
        end_write(ec);
        if (ec) {
            co_return written{ec, 0};
        }
        res.add_bytes_sent(size);
        co_return written{ec, size};
    }

    static bool wants_close(const response& res) {
        const auto field = res.header("Connection");
        return field && boost::beast::iequals(*field, "close");
    }

    void finish_exchange(const exchange& x, std::string_view route, http::status code,
                         std::uint64_t bytes) {
        const auto elapsed = std::chrono::duration<double>(clock::now() - x.started).count();
        const auto numeric = static_cast<unsigned>(code);
        if (!x.refused) {
            ctx_->metrics.observe(route, x.request.method(), numeric, elapsed);
        }
        if (ctx_->options.access_log) {
            const auto method = x.request.method_string();
            const auto target = x.request.target();
            log_access(ctx_->log,
                       access_entry{x.refused ? std::string_view("-")
                                              : std::string_view(method.data(), method.size()),
                                    x.refused ? std::string_view("-")
                                              : std::string_view(target.data(), target.size()),
                                    numeric, bytes, elapsed * 1000.0, remote_text_});
        }
    }

    // ---- shutdown -----------------------------------------------------------------------

    // Half-closes and drops what the client still sends (bounded in bytes and, through the
    // machine's deadline, in time), so that the close does not reset the answer away.
    net::awaitable<void> linger() {
        if constexpr (is_tls) {
            co_await stream_.async_shutdown(use_nothrow);
        } else {
            boost::system::error_code ec;
            stream_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
            std::size_t dropped = 0;
            char sink[4096];
            while (!ec && !machine_.closed() && dropped < linger_bytes) {
                std::size_t n = 0;
                std::tie(ec, n) = co_await stream_.async_read_some(net::buffer(sink), use_nothrow);
                dropped += n;
            }
        }
    }

    // Carries out what an event asked for, then wakes both loops and the watchdog so that
    // each looks at the machine again.
    void apply(const effects& fx) {
        if (fx.counted) {
            ctx_->metrics.reject(*fx.counted);
        }
        if (fx.cancel != net::cancellation_type::none) {
            cancel_handler(fx.cancel);
        }
        if (fx.close) {
            close_socket();
        }
        notify();
    }

    void notify() {
        reader_wake_.cancel();
        answerer_wake_.cancel();
        if (machine_.deadline() < watchdog_.expiry()) {
            watchdog_.cancel();  // the watchdog then waits for the earlier time
        }
    }

    void close_socket() {
        if (socket_closed_) {
            return;
        }
        socket_closed_ = true;
        boost::system::error_code ec;
        stream_.lowest_layer().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        stream_.lowest_layer().close(ec);
        watchdog_.cancel();
        reader_wake_.cancel();
        answerer_wake_.cancel();
    }

    void cancel_handler(net::cancellation_type type) {
        if (current_context_ != nullptr) {
            current_context_->request_cancellation(type);
        }
        handler_signal_.emit(type);
    }

    void begin_write() {
        machine_.on_write_started(clock::now());
        notify();
    }

    void end_write(boost::system::error_code ec) {
        machine_.on_write_done(ec);
        notify();
    }

    static net::awaitable<void> watch(std::shared_ptr<connection> self) {
        while (!self->machine_.closed()) {
            self->watchdog_.expires_at(self->machine_.deadline());
            co_await self->watchdog_.async_wait(use_nothrow);
            if (self->machine_.closed()) {
                break;
            }
            self->apply(self->machine_.on_deadline(clock::now()));
        }
    }

    net::awaitable<void> wait(net::steady_timer& condition) {
        condition.expires_at(clock::time_point::max());
        co_await condition.async_wait(use_nothrow);
    }

    std::shared_ptr<server_context> ctx_;
    Stream stream_;
    connection_machine machine_;
    net::steady_timer watchdog_;
    // Condition variables of the two loops (never expire; cancel() wakes the waiter).
    net::steady_timer reader_wake_;
    net::steady_timer answerer_wake_;

    net::cancellation_signal handler_signal_;
    request_context* current_context_ = nullptr;
    bool chunked_ = false;
    bool socket_closed_ = false;

    std::uint64_t id_ = 0;
    net::ip::tcp::endpoint remote_;
    std::string remote_text_;
};

}  // namespace mgw::http
