// The proxy's lifecycle: its listeners, the accept loops, and what connections report (ready,
// pushed, failed, closed) passed on to the client registry, with the identity a ready client
// proved. The HTTP side is in proxy_endpoints.cpp, the parallel pull in pull.cpp.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/core/listener.hpp>
#include <mgw/rsocket/proxy_service.hpp>

#include "app_identity.hpp"
#include "client_identity.hpp"
#include "client_registry.hpp"
#include "proxy_metrics.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

struct proxy_service::listener {
    tcp::acceptor acceptor;
    bool websocket;
};

proxy_service::proxy_service(asio::io_context& io, proxy_options options, core::logger& log,
                             prometheus::Registry& registry, core::memory_budget& memory,
                             const push::binding_directory* bindings)
    : io_(io),
      options_(std::move(options)),
      log_(log),
      memory_(memory),
      bindings_(bindings),
      counters_(std::make_unique<proxy_counters>(registry)),
      original_(std::make_unique<original_metrics>()),
      registry_(std::make_unique<client_registry>(
          registry_limits{.max_connections = options_.max_connections,
                          .max_held_pushes = options_.max_held_pushes,
                          .max_held_push_bytes = options_.max_held_push_bytes,
                          .push_ttl = options_.push_ttl},
          *counters_)),
      key_pool_(options_.keys, registry, log) {}

proxy_service::~proxy_service() {
    key_pool_.stop();
}

void proxy_service::start() {
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
    if (options_.tcp_listen) {
        bind(*options_.tcp_listen, false);
    }
    if (options_.websocket_listen) {
        bind(*options_.websocket_listen, true);
    }
}

void proxy_service::stop() {
    for (const auto& l : listeners_) {
        asio::post(l->acceptor.get_executor(), [l] {
            boost::system::error_code ignored;
            l->acceptor.close(ignored);
        });
    }
    for (auto& c : registry_->stop()) {
        c->stop();
    }
}

asio::awaitable<void> proxy_service::accept_loop(std::shared_ptr<listener> l) {
    asio::steady_timer backoff(l->acceptor.get_executor());
    for (;;) {
        connection::strand_type strand = asio::make_strand(io_);
        auto [ec, socket] = co_await l->acceptor.async_accept(strand, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) {
                co_return;
            }
            // EMFILE and friends: wait instead of spinning on the error.
            original_->connection_errors
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

asio::awaitable<void> proxy_service::start_connection(tcp::socket socket,
                                                      connection::strand_type strand,
                                                      bool websocket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (!registry_->admit()) {
        socket.close(ignored);
        co_return;
    }
    std::unique_ptr<transport> t;
    std::string_view refusal;
    if (websocket) {
        // The upgrade is bounded by the SETUP deadline: both come before anything else.
        websocket_accept accepted = co_await accept_websocket(
            std::move(socket), options_.connection.read, options_.connection.setup_timeout);
        t = std::move(accepted.accepted);
        refusal = accepted.refusal;
    } else {
        t = make_tcp_transport(std::move(socket), options_.connection.read);
    }
    std::shared_ptr<connection> c;
    if (t) {
        counters_->accepted.Add({{"transport", t->name() == "TCP" ? "tcp" : "websocket"}})
            .Increment();
        c = std::make_shared<connection>(strand, std::move(t), key_pool_, options_.connection,
                                         static_cast<connection_observer&>(*this),
                                         registry_->next_id(), &memory_);
        if (!registry_->add(c)) {
            c.reset();
        }
    }
    if (!c) {
        registry_->abandon();
        if (!refusal.empty()) {
            counters_->connection_errors.Add({{"reason", std::string(refusal)}}).Increment();
        }
        co_return;
    }
    co_await c->run();
}

void proxy_service::connection_ready(const std::shared_ptr<connection>& c) {
    identity_proof proof = proof_in_setup(c->setup_data(), c->setup_metadata());
    if (proof.what == identity_proof::kind::none) {
        proof = proof_in_authorization(c->authorization());
    }
    std::optional<push::push_binding> binding;
    if (proof.what == identity_proof::kind::key && bindings_ != nullptr) {
        binding = bindings_->find_by_access_key(proof.access_key);
    }
    std::string declared;
    if (options_.trust_declared_app_identity) {
        declared = app_guid_in_setup(c->setup_data());
        if (declared.empty()) {
            declared = app_guid_in_setup(c->setup_metadata());
        }
    }
    identity_decision decision = decide_identity(
        proof, std::move(binding), options_.trust_declared_app_identity, std::move(declared));
    std::optional<client_app> app;
    if (decision.result == identity_result::key) {
        app = client_app{.guid = decision.app_guid,
                         .how = client_app::grounds::key,
                         .access_key = std::move(proof.access_key),
                         .binding_labels = std::move(decision.binding->labels)};
    } else if (decision.result == identity_result::declared) {
        app = client_app{.guid = decision.app_guid,
                         .how = client_app::grounds::declared_setup,
                         .access_key = {},
                         .binding_labels = {}};
    }
    registry_->ready(c, std::move(app), decision.learn_from_labels);
    if (decision.learn_from_labels) {
        // Counted once its labels are known (declared, or anonymous after all).
        asio::co_spawn(c->strand(), learn_app(c), asio::detached);
    } else {
        record_identity(*c, to_string(decision.result));
    }
}

void proxy_service::record_identity(const connection& c, std::string_view result) {
    counters_->identities.Add({{"result", std::string(result)}}).Increment();
    if (result != "unknown_key" && result != "wrong_app" && result != "malformed" &&
        result != "revoked") {
        return;
    }
    if (const auto occurrences = identity_log_.admit()) {
        // Never the key itself: the log is not where secrets go.
        log_.warn("rsocket client identity refused",
                  {{"connection", c.id()},
                   {"transport", c.transport_name()},
                   {"result", result},
                   {"consequence", result == "revoked" ? "left its app" : "not joined to an app"},
                   {"occurrences", *occurrences}});
    }
}

void proxy_service::connection_pushed(connection& c, bool ok, std::string_view reason) {
    // "memory": its text would not fit the budgets; anything else: it did not decrypt.
    const bool refused = !ok && reason == to_string(scrape_outcome::memory);
    counters_->pushes.Add({{"outcome", ok ? "held" : refused ? "refused" : "invalid"}}).Increment();
    if (!ok) {
        log_.debug("rsocket push not decryptable", {{"connection", c.id()}, {"error", reason}});
    }
}

void proxy_service::connection_failed(connection& c, std::string_view reason) {
    counters_->connection_errors.Add({{"reason", std::string(reason)}}).Increment();
    original_->connection_errors
        .Add({{"exception", std::string(reason)}, {"transport", std::string(c.transport_name())}})
        .Increment();
    log_.debug("rsocket connection failed", {{"connection", c.id()}, {"reason", reason}});
}

void proxy_service::connection_closed(connection& c, std::optional<leased_text> push) {
    registry_->closed(c.id(), std::move(push), clock::now());
}

proxy_status proxy_service::status() const {
    return registry_->status();
}

void proxy_service::list_apps(std::vector<apps::known_app>& out) const {
    for (std::string& guid : registry_->joined_apps()) {
        out.push_back({.app_guid = std::move(guid), .labels = {}});
    }
}

}  // namespace mgw::rsocket
