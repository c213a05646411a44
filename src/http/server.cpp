// The listener: accepts on the server's strand, hands each socket to a connection on its own
// strand, and drives the drain (stop accepting, drain, total, then terminal cancellation).
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/core/listener.hpp>
#include <mgw/http/server.hpp>

#include "connection_start.hpp"
#include "server_context.hpp"
#include "tls_context.hpp"

namespace mgw::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

struct server_state {
    server_state(net::io_context& io, std::shared_ptr<server_context> c)
        : io(io), ctx(std::move(c)), strand(net::make_strand(io)), acceptor(strand) {}

    net::io_context& io;
    std::shared_ptr<server_context> ctx;
    std::shared_ptr<net::ssl::context> tls;
    net::strand<net::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
};

namespace {

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

net::awaitable<void> accept_loop(std::shared_ptr<server_state> s) {
    auto& ctx = *s->ctx;
    // After a failed accept (EMFILE, ENFILE) wait a little instead of spinning on the error.
    net::steady_timer backoff(s->strand);
    for (;;) {
        auto [ec, socket] = co_await s->acceptor.async_accept(net::make_strand(s->io), use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || !s->acceptor.is_open()) {
                co_return;
            }
            ctx.log.warn("http accept failed", {{"error", ec.message()}});
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_nothrow);
            continue;
        }
        if (ctx.connections.size() >= ctx.options.max_connections) {
            ctx.metrics.reject(rejection::too_many_connections);
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        if (s->tls) {
            start_tls_connection(s->ctx, s->tls, std::move(socket));
        } else {
            start_plain_connection(s->ctx, std::move(socket));
        }
    }
}

// Waits on the strand until no connection is left or `deadline` passes; true when empty.
net::awaitable<bool> wait_empty(server_state& s, net::steady_timer& waiter,
                                clock::time_point deadline) {
    while (s.ctx->connections.size() != 0) {
        if (clock::now() >= deadline) {
            co_return false;
        }
        waiter.expires_at(deadline);
        co_await waiter.async_wait(use_nothrow);
    }
    co_return true;
}

void cancel_all(server_state& s, net::cancellation_type type) {
    for (auto& c : s.ctx->connections.snapshot()) {
        c->cancel(type);
    }
}

net::awaitable<bool> drain_on_strand(std::shared_ptr<server_state> s, clock::time_point deadline) {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    auto waiter = std::make_shared<net::steady_timer>(s->strand);
    s->ctx->connections.notify_empty(waiter);
    for (auto& c : s->ctx->connections.begin_drain()) {
        c->drain();
    }
    bool in_time = co_await wait_empty(*s, *waiter, deadline);
    if (!in_time) {
        const auto grace = s->ctx->options.cancel_grace;
        cancel_all(*s, net::cancellation_type::total);
        if (!co_await wait_empty(*s, *waiter, clock::now() + grace)) {
            cancel_all(*s, net::cancellation_type::terminal);
            co_await wait_empty(*s, *waiter, clock::now() + grace);
        }
    }
    s->ctx->connections.notify_empty(nullptr);
    co_return in_time;
}

}  // namespace

server::server(net::io_context& io, server_options options, router routes, core::logger& log,
               prometheus::Registry& registry)
    : server(io, std::move(options), std::move(routes), log, registry, nullptr) {}

server::server(net::io_context& io, server_options options, router routes, core::logger& log,
               prometheus::Registry& registry, core::memory_budget& memory)
    : server(io, std::move(options), std::move(routes), log, registry, &memory) {}

server::server(net::io_context& io, server_options options, router routes, core::logger& log,
               prometheus::Registry& registry, core::memory_budget* memory) {
    const bool tls = options.tls_enabled();
    auto ctx = std::make_shared<server_context>(std::move(options), std::move(routes), log,
                                                registry, memory);
    ctx->worker = io.get_executor();
    state_ = std::make_shared<server_state>(io, std::move(ctx));
    if (tls) {
        state_->tls = make_server_tls_context(state_->ctx->options.tls_cert_file,
                                              state_->ctx->options.tls_key_file);
    }
}

server::~server() {
    // Connections hold the shared context, not the server: they finish on their own.
    net::post(state_->strand, [s = state_] {
        boost::system::error_code ec;
        s->acceptor.close(ec);
    });
}

void server::start() {
    const auto& options = state_->ctx->options;
    const auto endpoint = core::resolve_listen_endpoint("http", options.host, options.port);
    state_->port = core::open_listener(state_->acceptor, "http", endpoint).port();
    state_->ctx->log.info("http listening", {{"address", endpoint.address().to_string()},
                                             {"port", state_->port},
                                             {"tls", state_->tls != nullptr}});
    net::co_spawn(state_->strand, accept_loop(state_), net::detached);
}

std::uint16_t server::local_port() const {
    return state_->port;
}

void server::stop_accepting() {
    net::post(state_->strand, [s = state_] {
        boost::system::error_code ec;
        s->acceptor.close(ec);
    });
}

net::awaitable<bool> server::drain(clock::time_point deadline) {
    co_return co_await net::co_spawn(state_->strand, drain_on_strand(state_, deadline),
                                     net::use_awaitable);
}

std::size_t server::open_connections() const {
    return state_->ctx->connections.size();
}

}  // namespace mgw::http
