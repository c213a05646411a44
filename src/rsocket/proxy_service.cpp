// The proxy's composition root: builds its parts in dependency order and wires them; the
// behaviour lives in the parts (client_registry, client_pull, client_observer, client_acceptor,
// proxy_endpoints, client_app_source, identity_outcomes).
#include <mgw/rsocket/proxy_service.hpp>

#include "client_acceptor.hpp"
#include "client_app_source.hpp"
#include "client_observer.hpp"
#include "client_registry.hpp"
#include "identity_outcomes.hpp"
#include "proxy_endpoints.hpp"
#include "proxy_metrics.hpp"
#include "pull.hpp"

namespace mgw::rsocket {

proxy_service::proxy_service(boost::asio::io_context& io, proxy_options options, core::logger& log,
                             prometheus::Registry& registry, core::memory_budget& memory,
                             const push::binding_directory* bindings)
    : options_(std::move(options)),
      counters_(std::make_unique<proxy_counters>(registry)),
      original_(std::make_unique<original_metrics>()),
      registry_(std::make_unique<client_registry>(
          registry_limits{.max_connections = options_.max_connections,
                          .max_held_pushes = options_.max_held_pushes,
                          .max_held_push_bytes = options_.max_held_push_bytes,
                          .push_ttl = options_.push_ttl},
          *counters_)),
      identities_(std::make_unique<identity_outcomes>(*counters_, log)),
      key_pool_(options_.keys, registry, log),
      pull_(std::make_unique<client_pull>(
          *registry_, *identities_, pull_recorders{*counters_, *original_, log},
          options_.trust_declared_app_identity, options_.scrape_timeout)),
      observer_(std::make_unique<client_observer>(*registry_, *pull_, *identities_, *counters_,
                                                  *original_, log, bindings,
                                                  options_.trust_declared_app_identity)),
      acceptor_(std::make_unique<client_acceptor>(
          io,
          client_acceptor::listen_addresses{.tcp = options_.tcp_listen,
                                            .websocket = options_.websocket_listen},
          options_.connection, *registry_, key_pool_, *observer_, *counters_, *original_, memory,
          log)),
      endpoints_(std::make_unique<proxy_endpoints>(options_.scrape_timeout, *registry_, *pull_,
                                                   *counters_, *original_, memory, log)),
      app_source_(std::make_unique<client_app_source>(*registry_, *pull_, *identities_, bindings)) {
}

proxy_service::~proxy_service() {
    key_pool_.stop();
}

void proxy_service::start() {
    acceptor_->start();
}

void proxy_service::stop() {
    acceptor_->stop();
    for (auto& c : registry_->stop()) {
        c->stop();
    }
}

std::uint16_t proxy_service::tcp_port() const {
    return acceptor_->tcp_port();
}

std::uint16_t proxy_service::websocket_port() const {
    return acceptor_->websocket_port();
}

proxy_status proxy_service::status() const {
    return registry_->status();
}

void proxy_service::register_routes(http::router& router) {
    endpoints_->register_routes(router);
}

void proxy_service::set_connected_peers(connected_peers peers) {
    endpoints_->set_connected_peers(std::move(peers));
}

void proxy_service::set_proxy_peers(proxy_peers peers, std::string node_id) {
    endpoints_->set_proxy_peers(std::move(peers), std::move(node_id));
}

std::string proxy_service::proxy_text() {
    return endpoints_->proxy_text();
}

boost::asio::awaitable<void> proxy_service::pull_connected(
    std::chrono::steady_clock::time_point deadline, std::vector<std::string>& out) {
    const std::vector<std::shared_ptr<connection>> clients = registry_->ready_clients();
    for (scrape_answer& answer : co_await pull_->pull(clients, deadline)) {
        if (answer.outcome == scrape_outcome::success) {
            out.push_back(std::move(answer.text.text));
        }
    }
}

apps::app_source& proxy_service::app_source() {
    return *app_source_;
}

const apps::app_directory& proxy_service::app_directory() const {
    return *app_source_;
}

}  // namespace mgw::rsocket
