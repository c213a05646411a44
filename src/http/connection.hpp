// HTTP server module (internal): one HTTP/1.1 connection, plain or TLS. Three coroutines
// share the connection's strand: the reader parses requests ahead (at most max_pipelined), the
// writer answers them in order by running their handlers, and the watchdog enforces the one
// rolling deadline (idle, then per request). Included by connection_plain.cpp and
// connection_tls.cpp only: it is the one place that instantiates Beast's HTTP templates.
#pragma once

#include <chrono>
#include <deque>
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
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <mgw/http/accept_encoding.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/http/request_target.hpp>
#include <mgw/http/response.hpp>

#include "access_log.hpp"
#include "connection_registry.hpp"
#include "server_context.hpp"

namespace mgw::http {

namespace net = boost::asio;
namespace beast_http = boost::beast::http;
using clock = std::chrono::steady_clock;

template <class Stream>
class connection final : public connection_base,
                         public response_sink,
                         public std::enable_shared_from_this<connection<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, net::ssl::stream<net::ip::tcp::socket>>;
    static constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
    // Bytes read and dropped after a final response so that the close does not turn into a
    // reset that destroys the response in the client's receive buffer.
    static constexpr std::size_t linger_bytes = 64 * 1024;
    static constexpr auto linger_time = std::chrono::milliseconds(500);

    // One request read ahead, or the reason it was turned away.
    struct inbound {
        beast_http::request<beast_http::string_body> request;
        request_target target;
        route_match match;
        std::optional<rejection> rejected;
        clock::time_point started;
        clock::time_point deadline;
        bool keep_alive = false;
    };

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

  public:
    template <class... StreamArgs>
    connection(std::shared_ptr<server_context> ctx, StreamArgs&&... args)
        : ctx_(std::move(ctx)),
          stream_(std::forward<StreamArgs>(args)...),
          watchdog_(stream_.get_executor()),
          queue_ready_(stream_.get_executor(), clock::time_point::max()),
          queue_space_(stream_.get_executor(), clock::time_point::max()) {}

    ~connection() override {
        ctx_->connections.remove(id_);
        ctx_->metrics.connection_closed();
    }

    void start() {
        ctx_->metrics.connection_opened();
        bool draining = false;
        id_ = ctx_->connections.add(this->weak_from_this(), draining);
        draining_ = draining;
        boost::system::error_code ec;
        remote_ = stream_.lowest_layer().remote_endpoint(ec);
        remote_text_ = remote_.address().to_string() + ":" + std::to_string(remote_.port());
        net::co_spawn(stream_.get_executor(), run(this->shared_from_this()), net::detached);
    }

    void drain() override {
        net::post(stream_.get_executor(), [self = this->shared_from_this()] {
            self->draining_ = true;
            if (self->idle()) {
                self->close_socket();
            }
        });
    }

    void cancel(net::cancellation_type type) override {
        net::post(stream_.get_executor(), [self = this->shared_from_this(), type] {
            if (type == net::cancellation_type::total && self->handler_running_) {
                self->cancel_handler(type);
            } else {
                self->close_socket();
            }
        });
    }

    // response_sink: used by streamed responses while their handler runs.
    net::awaitable<boost::system::error_code> write_head(const response& res,
                                                         bool streamed) override {
        const auto& req = current_->request;
        beast_http::response<beast_http::empty_body> head{res.status(), req.version()};
        for (const auto& [name, value] : res.headers()) {
            head.insert(name, value);
        }
        chunked_ = streamed && req.version() >= 11;
        if (chunked_) {
            head.chunked(true);
        }
        // HTTP/1.0 has no chunks: the end of the connection ends the body.
        stream_keep_alive_ = keep_alive_for(res) && (!streamed || chunked_);
        head.keep_alive(stream_keep_alive_);
        beast_http::response_serializer<beast_http::empty_body> serializer{head};
        auto [ec, n] = co_await beast_http::async_write_header(stream_, serializer, use_nothrow);
        if (ec) {
            write_failed_ = true;
        }
        co_return ec;
    }

    net::awaitable<boost::system::error_code> write_body(std::string_view data) override {
        boost::system::error_code ec;
        if (chunked_) {
            std::tie(ec, std::ignore) = co_await net::async_write(
                stream_, beast_http::make_chunk(net::const_buffer(data.data(), data.size())),
                use_nothrow);
        } else {
            std::tie(ec, std::ignore) = co_await net::async_write(
                stream_, net::const_buffer(data.data(), data.size()), use_nothrow);
        }
        if (ec) {
            write_failed_ = true;
        }
        co_return ec;
    }

    net::awaitable<boost::system::error_code> write_end() override {
        if (!chunked_) {
            co_return boost::system::error_code{};
        }
        auto [ec, n] =
            co_await net::async_write(stream_, beast_http::make_chunk_last(), use_nothrow);
        if (ec) {
            write_failed_ = true;
        }
        co_return ec;
    }

  private:
    static net::awaitable<void> run(std::shared_ptr<connection> self) {
        self->set_deadline(clock::now() + self->ctx_->options.idle_timeout);
        net::co_spawn(self->stream_.get_executor(), watch(self), net::detached);
        if constexpr (is_tls) {
            auto [ec] =
                co_await self->stream_.async_handshake(net::ssl::stream_base::server, use_nothrow);
            if (ec) {
                self->close_socket();
                co_return;
            }
        }
        net::co_spawn(self->stream_.get_executor(), read_requests(self), net::detached);
        co_await self->answer_requests();
        co_await self->close_gracefully();
    }

    // ---- reader -------------------------------------------------------------------------

    static net::awaitable<void> read_requests(std::shared_ptr<connection> self) {
        co_await self->read_loop();
        self->reader_done_ = true;
        self->queue_ready_.cancel();
    }

    net::awaitable<void> read_loop() {
        const auto& options = ctx_->options;
        for (;;) {
            while (queue_.size() >= std::max<std::size_t>(options.max_pipelined, 1)) {
                co_await wait(queue_space_);
                if (closed_) {
                    co_return;
                }
            }
            if (closed_ || draining_) {
                co_return;
            }
            beast_http::request_parser<beast_http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
            parser.body_limit(options.body_limit);

            auto [ec, n] =
                co_await beast_http::async_read_header(stream_, buffer_, parser, use_nothrow);
            if (ec) {
                on_read_error(ec);
                co_return;
            }
            auto item = std::make_unique<inbound>();
            item->started = clock::now();
            const auto& header = parser.get();
            // RFC 9112 §3.2: a 1.1 request without Host is malformed.
            if (header.version() >= 11 && header.find(beast_http::field::host) == header.end()) {
                co_return reject(std::move(item), rejection::bad_request);
            }
            if (!parse_request_target(header.target(), item->target)) {
                co_return reject(std::move(item), rejection::bad_request);
            }
            item->match = ctx_->routes.match(header.method(), item->target.path);
            std::size_t body_limit = options.body_limit;
            auto timeout = options.request_timeout;
            if (item->match.route != nullptr) {
                body_limit = item->match.route->options.body_limit.value_or(body_limit);
                timeout = item->match.route->options.request_timeout.value_or(timeout);
            }
            item->deadline = timeout == clock::duration::zero() ? clock::time_point::max()
                                                                : item->started + timeout;
            if (!parser.is_done()) {
                if (auto length = parser.content_length(); length && *length > body_limit) {
                    item->request.base() = header.base();  // for the route's on_refused
                    co_return reject(std::move(item), rejection::body_too_large);
                }
                parser.body_limit(body_limit);
                if (!co_await continue_if_expected(header)) {
                    co_return;
                }
                const bool was_idle = idle();
                reading_deadline_ = timeout == clock::duration::zero()
                                        ? item->started + options.request_timeout
                                        : item->deadline;
                if (was_idle) {
                    set_deadline(*reading_deadline_);
                }
                std::tie(ec, n) =
                    co_await beast_http::async_read(stream_, buffer_, parser, use_nothrow);
                reading_deadline_.reset();
                if (ec) {
                    on_read_error(ec);
                    co_return;
                }
            }
            item->request = parser.release();
            item->keep_alive = item->request.keep_alive();
            const bool more = item->keep_alive;
            if (queue_.empty() && !closed_) {
                set_deadline(item->deadline);
            }
            push(std::move(item));
            if (!more) {
                co_return;
            }
        }
    }

    // Answers "Expect: 100-continue" only when nothing else is being written; otherwise the
    // client sends the body after its own short wait, as RFC 9110 §10.1.1 allows.
    net::awaitable<bool> continue_if_expected(const beast_http::request_header<>& header) {
        auto expect = header[beast_http::field::expect];
        if (expect.empty() || !boost::beast::iequals(expect, "100-continue") || !queue_.empty() ||
            header.version() < 11) {
            co_return true;
        }
        beast_http::response<beast_http::empty_body> interim{beast_http::status::continue_, 11};
        auto [ec, n] = co_await beast_http::async_write(stream_, interim, use_nothrow);
        if (ec) {
            on_read_error(ec);
            co_return false;
        }
        co_return true;
    }

    void on_read_error(boost::system::error_code ec) {
        if (ec == beast_http::error::header_limit) {
            return reject_new(rejection::header_too_large);
        }
        if (ec == beast_http::error::body_limit) {
            return reject_new(rejection::body_too_large);
        }
        const bool parse_error =
            ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category();
        if (parse_error && ec != beast_http::error::end_of_stream &&
            ec != beast_http::error::partial_message) {
            return reject_new(rejection::bad_request);
        }
        // The client went away (or we closed the socket): whatever it asked for is moot.
        peer_gone_ = true;
        if (handler_running_) {
            cancel_handler(net::cancellation_type::terminal);
        }
    }

    void reject_new(rejection reason) {
        auto item = std::make_unique<inbound>();
        item->started = clock::now();
        reject(std::move(item), reason);
    }

    void reject(std::unique_ptr<inbound> item, rejection reason) {
        item->rejected = reason;
        item->keep_alive = false;
        item->deadline = item->started + ctx_->options.request_timeout;
        if (queue_.empty()) {
            set_deadline(item->deadline);
        }
        push(std::move(item));
    }

    void push(std::unique_ptr<inbound> item) {
        queue_.push_back(std::move(item));
        queue_ready_.cancel();
    }

    // ---- writer -------------------------------------------------------------------------

    net::awaitable<void> answer_requests() {
        for (;;) {
            while (queue_.empty() && !reader_done_ && !closed_) {
                co_await wait(queue_ready_);
            }
            if (queue_.empty() || closed_) {
                co_return;
            }
            current_ = queue_.front().get();
            const bool keep = co_await answer(*current_);
            current_ = nullptr;
            queue_.pop_front();
            queue_space_.cancel();
            if (!keep || closed_ || draining_ || peer_gone_) {
                co_return;
            }
            if (queue_.empty()) {
                set_deadline(reading_deadline_.value_or(clock::now() + ctx_->options.idle_timeout));
            }
        }
    }

    net::awaitable<bool> answer(inbound& item) {
        if (item.rejected) {
            co_return co_await answer_rejected(item);
        }
        set_deadline(item.deadline);
        const auto& req = item.request;
        response::init init;
        init.sink = this;
        init.head_request = req.method() == beast_http::verb::head;
        init.gzip_min_bytes = ctx_->options.gzip_min_bytes;
        {
            auto accept = req[beast_http::field::accept_encoding];
            init.gzip_accepted = accepts_gzip(std::string_view(accept.data(), accept.size()));
        }
        response res(init);
        std::string_view route_name = "unmatched";
        bool failed = false;

        switch (item.match.result) {
            case route_match::kind::not_found:
                res.status(status::not_found);
                res.set("Content-Type", "text/plain; charset=utf-8");
                res.body("404 page not found\n");
                break;
            case route_match::kind::method_not_allowed:
                res.status(status::method_not_allowed);
                res.set("Allow", item.match.allow);
                res.set("Content-Type", "text/plain; charset=utf-8");
                res.body("405 method not allowed\n");
                break;
            case route_match::kind::found:
                route_name = item.match.route->options.name;
                failed = !co_await run_handler(item, res);
                break;
        }

        bool keep = keep_alive_for(res);
        http::status code = res.status();
        std::uint64_t bytes = 0;
        if (res.streaming()) {
            if (!res.finished() && !timed_out_ && !failed) {
                co_await res.finish();
            }
            keep = keep && stream_keep_alive_ && res.finished() && !write_failed_;
            bytes = res.bytes_sent();
        } else if (timed_out_ || failed) {
            response fallback(init);
            fallback.status(timed_out_ ? status::service_unavailable
                                       : status::internal_server_error);
            fallback.set("Content-Type", "text/plain; charset=utf-8");
            fallback.body(timed_out_ ? "request timed out\n" : "internal server error\n");
            keep = keep && !timed_out_;
            code = fallback.status();
            bytes = co_await write_complete(req.version(), fallback, keep);
        } else {
            bytes = co_await write_complete(req.version(), res, keep);
        }
        finish_exchange(item, route_name, code, bytes);
        co_return keep && !write_failed_ && !timed_out_;
    }

    // Runs the route's handler as a child coroutine whose cancellation slot the connection
    // owns, so that a disconnect, the request deadline or a drain can cancel it.
    net::awaitable<bool> run_handler(inbound& item, response& res) {
        const auto& req = item.request;
        fields_source headers(req.base());
        request_context::init init;
        init.method = req.method();
        auto method = req.method_string();
        init.method_string = std::string_view(method.data(), method.size());
        auto target = req.target();
        init.target = std::string_view(target.data(), target.size());
        init.path = std::move(item.target.path);
        init.query = std::move(item.target.query);
        init.body = &req.body();
        init.headers = &headers;
        init.remote = remote_;
        init.deadline = item.deadline;
        init.version = req.version();
        request_context context(std::move(init));

        current_context_ = &context;
        handler_running_ = true;
        auto [error] = co_await net::co_spawn(
            stream_.get_executor(), item.match.route->handler(context, res),
            net::bind_cancellation_slot(handler_signal_.slot(), use_nothrow));
        handler_running_ = false;
        current_context_ = nullptr;
        handler_signal_.slot().clear();

        if (error && !timed_out_ && !context.cancelled()) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                ctx_->log.error("http handler failed", {{"route", item.match.route->options.name},
                                                        {"uri", context.target()},
                                                        {"error", e.what()}});
            } catch (...) {
                ctx_->log.error("http handler failed", {{"route", item.match.route->options.name}});
            }
        }
        co_return !error;
    }

    net::awaitable<bool> answer_rejected(inbound& item) {
        ctx_->metrics.reject(*item.rejected);
        http::status code = status::bad_request;
        std::string_view text = "400 bad request\n";
        if (*item.rejected == rejection::header_too_large) {
            code = status::request_header_fields_too_large;
            text = "431 request header fields too large\n";
        } else if (*item.rejected == rejection::body_too_large) {
            code = status::payload_too_large;
            text = "413 request entity too large\n";
        }
        response res(response::init{this, false, false, ctx_->options.gzip_min_bytes});
        res.status(code);
        res.set("Content-Type", "text/plain; charset=utf-8");
        res.body(std::string(text));
        if (item.match.route != nullptr && item.match.route->options.on_refused) {
            const fields_source headers(item.request.base());
            item.match.route->options.on_refused(headers, res);
        }
        auto bytes = co_await write_complete(11, res, false);
        finish_exchange(item, "rejected", code, bytes);
        co_return false;
    }

    net::awaitable<std::uint64_t> write_complete(unsigned version, response& res, bool keep) {
        res.compress_complete_body();
        const bool head = current_ != nullptr && !current_->rejected &&
                          current_->request.method() == beast_http::verb::head;
        boost::system::error_code ec;
        std::uint64_t size = res.body().size();
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
        if (ec) {
            write_failed_ = true;
            co_return 0;
        }
        res.add_bytes_sent(size);
        co_return size;
    }

    bool keep_alive_for(const response& res) const {
        if (current_ == nullptr || !current_->keep_alive || draining_ || peer_gone_ || timed_out_) {
            return false;
        }
        auto connection = res.header("Connection");
        return !connection || !boost::beast::iequals(*connection, "close");
    }

    void finish_exchange(const inbound& item, std::string_view route, http::status code,
                         std::uint64_t bytes) {
        const auto elapsed = std::chrono::duration<double>(clock::now() - item.started).count();
        auto method = item.rejected ? std::string_view("-")
                                    : std::string_view(item.request.method_string().data(),
                                                       item.request.method_string().size());
        auto target = item.rejected ? std::string_view("-")
                                    : std::string_view(item.request.target().data(),
                                                       item.request.target().size());
        const auto numeric = static_cast<unsigned>(code);
        if (!item.rejected) {
            ctx_->metrics.observe(route, method, numeric, elapsed);
        }
        if (ctx_->options.access_log) {
            log_access(ctx_->log, access_entry{method, target, numeric, bytes, elapsed * 1000.0,
                                               remote_text_});
        }
    }

    // ---- shutdown -----------------------------------------------------------------------

    net::awaitable<void> close_gracefully() {
        if (closed_) {
            co_return;
        }
        // The reader may still have a read pending (drain, keep-alive refused): only a
        // connection whose reader has stopped can read its leftovers or run a TLS shutdown.
        if (!reader_done_) {
            close_socket();
            co_return;
        }
        set_deadline(clock::now() + linger_time);
        if constexpr (is_tls) {
            co_await stream_.async_shutdown(use_nothrow);
        } else {
            boost::system::error_code ec;
            stream_.shutdown(net::ip::tcp::socket::shutdown_send, ec);
            std::size_t dropped = 0;
            char sink[4096];
            while (!ec && !closed_ && dropped < linger_bytes) {
                std::size_t n = 0;
                std::tie(ec, n) = co_await stream_.async_read_some(net::buffer(sink), use_nothrow);
                dropped += n;
            }
        }
        close_socket();
    }

    void close_socket() {
        if (closed_) {
            return;
        }
        closed_ = true;
        boost::system::error_code ec;
        stream_.lowest_layer().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        stream_.lowest_layer().close(ec);
        watchdog_.cancel();
        queue_ready_.cancel();
        queue_space_.cancel();
        if (handler_running_) {
            cancel_handler(net::cancellation_type::terminal);
        }
    }

    void cancel_handler(net::cancellation_type type) {
        if (current_context_ != nullptr) {
            current_context_->request_cancellation(type);
        }
        handler_signal_.emit(type);
    }

    bool idle() const { return queue_.empty() && !reading_deadline_ && !handler_running_; }

    // ---- deadlines ----------------------------------------------------------------------

    void set_deadline(clock::time_point when) {
        deadline_ = when;
        if (when < watchdog_.expiry()) {
            watchdog_.cancel();  // wake the watchdog so that it waits for the earlier time
        }
    }

    static net::awaitable<void> watch(std::shared_ptr<connection> self) {
        while (!self->closed_) {
            self->watchdog_.expires_at(self->deadline_);
            co_await self->watchdog_.async_wait(use_nothrow);
            if (self->closed_) {
                break;
            }
            if (clock::now() >= self->deadline_) {
                self->on_deadline();
            }
        }
    }

    void on_deadline() {
        if (handler_running_ && !timed_out_) {
            // The handler gets its cancellation; the writer then answers 503 (or cuts a
            // stream). Should that write stall too, the next expiry closes the socket.
            timed_out_ = true;
            ctx_->metrics.reject(rejection::request_timeout);
            cancel_handler(net::cancellation_type::terminal);
            deadline_ = clock::now() + ctx_->options.cancel_grace;
            return;
        }
        if (!timed_out_ && !idle()) {
            ctx_->metrics.reject(rejection::request_timeout);
        }
        close_socket();
    }

    net::awaitable<void> wait(net::steady_timer& condition) {
        condition.expires_at(clock::time_point::max());
        co_await condition.async_wait(use_nothrow);
    }

    std::shared_ptr<server_context> ctx_;
    Stream stream_;
    boost::beast::flat_buffer buffer_;
    net::steady_timer watchdog_;
    clock::time_point deadline_ = clock::time_point::max();
    std::optional<clock::time_point> reading_deadline_;  // a request body is being read

    // Requests read and not yet answered; the front one is being answered. The two timers
    // are condition variables (never expire; cancel() wakes the waiter).
    std::deque<std::unique_ptr<inbound>> queue_;
    net::steady_timer queue_ready_;
    net::steady_timer queue_space_;
    inbound* current_ = nullptr;

    net::cancellation_signal handler_signal_;
    request_context* current_context_ = nullptr;
    bool handler_running_ = false;
    bool chunked_ = false;
    bool stream_keep_alive_ = false;

    bool reader_done_ = false;
    bool closed_ = false;
    bool draining_ = false;
    bool peer_gone_ = false;
    bool timed_out_ = false;
    bool write_failed_ = false;

    std::uint64_t id_ = 0;
    net::ip::tcp::endpoint remote_;
    std::string remote_text_;
};

}  // namespace mgw::http
