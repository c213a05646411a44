// The proxy's listeners and accept loops, and the start of each connection.
#include "client_acceptor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/core/listener.hpp>

#include "client_registry.hpp"
#include "proxy_metrics.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

struct client_acceptor::listener {
    tcp::acceptor acceptor;
    bool websocket;
};

client_acceptor::client_acceptor(asio::io_context& io, listen_addresses listen,
                                 connection_options options, client_registry& registry,
                                 key_pool& keys, connection_observer& observer,
                                 proxy_counters& counters, original_metrics& original,
                                 core::memory_budget& memory, core::logger& log)
    : io_(io),
      listen_(std::move(listen)),
      options_(std::move(options)),
      registry_(registry),
      keys_(keys),
      observer_(observer),
      counters_(counters),
      original_(original),
      memory_(memory),
      log_(log) {}

void client_acceptor::start() {
    auto bind = [&](const core::listen_address& address, bool websocket) {
        auto l = std::make_shared<listener>(
            listener{.acceptor = tcp::acceptor(asio::make_strand(io_)), .websocket = websocket});
        const tcp::endpoint endpoint =
            core::resolve_listen_endpoint("rsocket", address.host, address.port);
        const std::uint16_t port = core::open_listener(l->acceptor, "rsocket", endpoint).port();
        (websocket ? websocket_port_ : tcp_port_) = port;
        listeners_.push_back(l);
        asio::co_spawn(l->acceptor.get_executor(), accept_loop(l), asio::detached);
        log_.info("rsocket listening", {{"transport", websocket ? "websocket" : "tcp"},
                                        {"listen", address.to_string()},
                                        {"port", port}});
    };
    if (listen_.tcp) {
        bind(*listen_.tcp, false);
    }
    if (listen_.websocket) {
        bind(*listen_.websocket, true);
    }
}

void client_acceptor::stop() {
    for (const auto& l : listeners_) {
        asio::post(l->acceptor.get_executor(), [l] {
            boost::system::error_code ignored;
            l->acceptor.close(ignored);
        });
    }
}

asio::awaitable<void> client_acceptor::accept_loop(std::shared_ptr<listener> l) {
    asio::steady_timer backoff(l->acceptor.get_executor());
    for (;;) {
        connection::strand_type strand = asio::make_strand(io_);
        auto [ec, socket] = co_await l->acceptor.async_accept(strand, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) {
                co_return;
            }
            // EMFILE and friends: wait instead of spinning on the error.
            original_.connection_errors
                .Add({{"exception", "accept"}, {"transport", l->websocket ? "Websocket" : "TCP"}})
                .Increment();
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(strand, start_connection(std::move(socket), strand, l->websocket),
                       asio::detached);
    }
}

asio::awaitable<void> client_acceptor::start_connection(tcp::socket socket,
                                                        connection::strand_type strand,
                                                        bool websocket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (!registry_.admit()) {
        socket.close(ignored);
        co_return;
    }
    std::unique_ptr<transport> t;
    std::string_view refusal;
    if (websocket) {
        // The upgrade is bounded by the SETUP deadline: both come before anything else.
        websocket_accept accepted =
            co_await accept_websocket(std::move(socket), options_.read, options_.setup_timeout);
        t = std::move(accepted.accepted);
        refusal = accepted.refusal;
    } else {
        t = make_tcp_transport(std::move(socket), options_.read);
    }
    std::shared_ptr<connection> c;
    if (t) {
        counters_.accepted.Add({{"transport", t->name() == "TCP" ? "tcp" : "websocket"}})
            .Increment();
        c = std::make_shared<connection>(strand, std::move(t), keys_, options_, observer_,
                                         registry_.next_id(), &memory_);
        if (!registry_.add(c)) {
            c.reset();
        }
    }
    if (!c) {
        registry_.abandon();
        if (!refusal.empty()) {
            counters_.connection_errors.Add({{"reason", std::string(refusal)}}).Increment();
        }
        co_return;
    }
    co_await c->run();
}

}  // namespace mgw::rsocket
