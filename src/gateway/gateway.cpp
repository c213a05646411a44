// Assembly and lifecycle of the gateway process: listeners up, READY=1, wait for a signal,
// health to 503, STOPPING=1, drain within shutdown.drain_timeout, exit.
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/apps/app_metrics_service.hpp>
#include <mgw/apps/external_exporter_source.hpp>
#include <mgw/apps/routes_endpoint.hpp>
#include <mgw/apps/service_discovery_endpoint.hpp>
#include <mgw/bosh/bosh_service.hpp>
#include <mgw/bosh/grpc_egress.hpp>
#include <mgw/broker/broker_service.hpp>
#include <mgw/cluster/cluster_service.hpp>
#include <mgw/cluster/hm_relay.hpp>
#include <mgw/cluster/rate_sync.hpp>
#include <mgw/cluster/shared_bindings.hpp>
#include <mgw/core/lifecycle.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/core/metrics.hpp>
#include <mgw/core/sd_notify.hpp>
#include <mgw/core/version.hpp>
#include <mgw/gateway/gateway.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server.hpp>
#include <mgw/loggregator/emitter.hpp>
#include <mgw/nats/client.hpp>
#include <mgw/push/push_service.hpp>
#include <mgw/routes/route_subscriber.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/rsocket/proxy_service.hpp>
#include <mgw/scrape/scraper.hpp>

#include "own_endpoints.hpp"
#include "status_page.hpp"

namespace mgw::gateway {

namespace asio = boost::asio;

namespace {

// Where bound apps push: broker.external_url, else the main listener's own URL.
std::string push_endpoint(const gateway_config& config) {
    std::string base = config.broker.external_url;
    if (base.empty()) {
        base = config.tls.enabled() ? "https://" : "http://";
        base += config.listen.to_string();
    }
    return base + "/v1/metrics";
}

// The listeners as configured, for the status console.
std::vector<listener_status> configured_listeners(const gateway_config& config) {
    std::vector<listener_status> listeners{
        {.name = "main", .address = config.listen.to_string(), .tls = config.tls.enabled()},
        {.name = "health", .address = config.health_listen.to_string(), .tls = false}};
    if (config.bosh.ingest_listen) {
        listeners.push_back({.name = "bosh ingest",
                             .address = config.bosh.ingest_listen->to_string(),
                             .tls = false});
        if (config.bosh.grpc.listen) {
            listeners.push_back({.name = "bosh grpc",
                                 .address = config.bosh.grpc.listen->to_string(),
                                 .tls = !config.bosh.grpc.tls.cert_file.empty()});
        }
    }
    if (config.rsocket.tcp_listen) {
        listeners.push_back({.name = "rsocket tcp",
                             .address = config.rsocket.tcp_listen->to_string(),
                             .tls = false});
    }
    if (config.rsocket.websocket_listen) {
        listeners.push_back({.name = "rsocket websocket",
                             .address = config.rsocket.websocket_listen->to_string(),
                             .tls = false});
    }
    return listeners;
}

// Everything that lives exactly as long as one run(), declared in construction order.
// What the io_context's pending handlers may still touch when they are destroyed with it
// (after `services`): a coroutine frame's memory leases go back to the budget, its
// connection gauges are decremented. So these two are made before the io_context and
// outlive it.
struct process_wide {
    core::gateway_metrics metrics;
    core::memory_budget memory;

    explicit process_wide(const gateway_config& config)
        : memory(core::leasable_bytes(config.limits.memory, core::resident_bytes().value_or(0)),
                 metrics.registry()) {}
};

struct services {
    core::gateway_metrics& metrics;
    core::memory_budget& memory;
    core::health health;
    routes::route_table route_table;
    // Route-table writes (NATS messages, pruning) happen on this strand only.
    asio::strand<asio::io_context::executor_type> routes_strand;
    std::optional<nats::client> nats;
    std::optional<routes::route_subscriber> route_subscriber;
    // The node's one boot id for this run: its heartbeats (cluster) and rate counts (rate_sync)
    // carry the same, so peers key both by one (node, boot).
    std::string cluster_boot_id = cluster::new_boot_id();
    std::optional<scrape::scraper> scraper;
    // Before app_metrics: an app source outlives the service that asks it.
    std::optional<rsocket::proxy_service> rsocket_proxy;
    std::optional<apps::external_exporter_source> external_exporters;
    // An app source too; it asks push and rsocket_proxy for peers, only from handlers that
    // run while the services all exist.
    std::optional<cluster::cluster_service> cluster;
    std::optional<apps::app_metrics_service> app_metrics;
    // Its SQLite store closes when run() returns, after the listeners are gone. It also holds
    // the access keys POST /v1/metrics checks.
    std::optional<broker::broker_service> broker;
    // After broker, which its watch feeds (so it stops first): cluster bindings over JetStream KV.
    std::optional<cluster::shared_bindings> shared_bindings;
    // Before push and bosh_events, whose listeners hand it envelopes.
    std::optional<loggregator::emitter> loggregator;  // when loggregator.push or .bosh
    // After app_metrics, which asks it for pushed series; before the servers that call it.
    std::optional<push::push_service> push;
    // Push rate limits shared with the cluster's peers: the push limiter asks it (after push,
    // so it goes first).
    std::optional<cluster::rate_sync> rate_sync;
    std::optional<bosh::bosh_service> bosh_events;  // when bosh.ingest_listen is set
    // Cluster mode with the HM ingest on: HM events shared across nodes through NATS.
    std::optional<cluster::hm_relay> hm_relay;
    std::optional<bosh::grpc_egress> bosh_grpc;  // when bosh.grpc.listen is set too
    std::optional<http::server> main_server;
    std::optional<http::server> health_server;

    services(asio::io_context& io, const gateway_config& config, process_wide& process)
        : metrics(process.metrics),
          memory(process.memory),
          route_table(config.routes.table_options(routes::subscriber_options{})),
          routes_strand(asio::make_strand(io)) {
        // Merges hold their instance bodies for as long as their clients take to read the
        // answer (up to http.write_timeout per write): clients that never read must not starve
        // every other client (health checks, pushes, RSocket connects) of the budget.
        memory.limit_use(core::memory_use::scrape_bodies, core::merge_share(memory.limit()));
    }
};

// Stops the route subscriber and closes NATS on the strand that owns them.
asio::awaitable<void> stop_routes(services& s) {
    if (!s.route_subscriber) {
        co_return;
    }
    co_await asio::post(s.routes_strand, asio::use_awaitable);
    s.route_subscriber->stop();
}

asio::awaitable<void> serve_until_signal(services& s, core::signal_watcher& signals,
                                         std::chrono::milliseconds drain_timeout, core::logger& log,
                                         int& exit_code) {
    const std::optional<core::shutdown_signal> signal = co_await signals.wait();
    if (!signal) {
        co_return;
    }
    s.health.set(core::health_state::draining);
    core::sd_notify("STOPPING=1");
    log.info("draining", {{"signal", core::to_string(*signal)},
                          {"drain_timeout_ms", drain_timeout.count()},
                          {"open_connections", s.main_server->open_connections()}});

    const auto deadline = std::chrono::steady_clock::now() + drain_timeout;
    // HM ingest stops first (the plugin keeps unacknowledged lines); event streams then send
    // what is queued and end, so the HTTP drain below does not wait for them.
    if (s.bosh_events) {
        s.bosh_events->stop();
    }
    // gRPC streams likewise, then GOAWAY on their connections.
    bool grpc_complete = true;
    if (s.bosh_grpc) {
        grpc_complete = co_await s.bosh_grpc->drain(deadline);
    }
    const bool complete = co_await s.main_server->drain(deadline) && grpc_complete;
    // Pushes and heartbeats accepted until now go to the Loggregator agent; what cannot be
    // sent before the deadline is counted as dropped (it does not change the exit code: no
    // request was cut off).
    if (s.loggregator) {
        co_await s.loggregator->drain(deadline);
    }
    // The health listener answered 503 throughout the drain so load balancers moved away.
    co_await s.health_server->drain(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (s.hm_relay) {
        s.hm_relay->stop();
    }
    if (s.cluster) {
        s.cluster->stop();
    }
    if (s.rate_sync) {
        s.rate_sync->stop();
    }
    if (s.shared_bindings) {
        s.shared_bindings->stop();
    }
    co_await stop_routes(s);
    if (s.rsocket_proxy) {
        s.rsocket_proxy->stop();
    }
    exit_code = complete ? 0 : 1;
    log.info("stopped", {{"complete", complete}});
    signals.cancel();
}

}  // namespace

gateway::gateway(gateway_config config, core::logger& log)
    : config_(std::move(config)), log_(log) {}

gateway::~gateway() = default;

namespace {

// Cluster mode: the broker's instances and bindings go to the JetStream KV when it answers at
// start (store auto) or must (store kv); otherwise each node's broker stays its own.
void share_bindings(services& s, const gateway_config& config, core::logger& log) {
    s.shared_bindings.emplace(
        cluster::shared_bindings_options{
            .connection = config.nats,
            .cluster_name = config.cluster.name,
            .replicas = static_cast<int>(config.cluster.bindings.replicas),
            .open_timeout = std::chrono::seconds(2)},
        *s.broker, log, s.metrics.registry());
    std::string error;
    if (!s.shared_bindings->open(error)) {
        s.shared_bindings.reset();
        if (config.cluster.bindings.store == cluster::bindings_store::kv) {
            throw std::runtime_error(
                "cluster.bindings.store is kv, but JetStream does not answer: " + error);
        }
        log.warn("cluster bindings stay per node: JetStream does not answer", {{"error", error}});
        return;
    }
    s.shared_bindings->start(std::chrono::seconds(5));
    s.broker->set_shared_records(&*s.shared_bindings);
    log.info("cluster bindings shared through JetStream KV",
             {{"cluster", config.cluster.name}, {"replicas", config.cluster.bindings.replicas}});
}

// Cluster mode: /v1/sd also lists the apps only the live peers' directories know.
std::function<
    asio::awaitable<std::vector<apps::remote_listing>>(std::chrono::steady_clock::time_point)>
sd_peers(services& s) {
    if (!s.cluster) {
        return {};
    }
    return [&cluster = *s.cluster](std::chrono::steady_clock::time_point deadline) {
        return cluster.gather_apps(deadline);
    };
}

}  // namespace

int gateway::run() {
    const auto started = std::chrono::steady_clock::now();
    const std::uint32_t thread_count = config_.resolved_threads();
    process_wide process(config_);
    asio::io_context io(static_cast<int>(thread_count));
    services s(io, config_, process);

    const auto now = routes::route_clock::now();
    for (const routes::static_route& route : config_.routes.static_routes) {
        s.route_table.add_static(route, now);
    }
    s.route_table.publish();
    if (config_.nats.enabled()) {
        s.nats.emplace(s.routes_strand, config_.nats, log_, s.metrics.registry());
        s.route_subscriber.emplace(s.routes_strand, s.route_table, *s.nats,
                                   config_.routes.table_options(routes::subscriber_options{}),
                                   routes::subscriber_options{}, log_, s.metrics.registry());
        // Before the route subscriber starts the connection: the cluster subscribes too.
        if (config_.cluster.enabled) {
            s.cluster.emplace(
                io,
                cluster::cluster_service_options{.config = config_.cluster,
                                                 .node_id = config_.cluster.resolved_node_id(),
                                                 .boot_id = s.cluster_boot_id,
                                                 .max_reply_bytes = config_.scrape.max_body_bytes,
                                                 .version = std::string(core::version())},
                *s.nats, log_, s.metrics.registry(), &s.memory);
        }
    }
    s.scraper.emplace(io.get_executor(), config_.scrape.scraper_options(), log_,
                      s.metrics.registry());
    s.app_metrics.emplace(s.route_table, *s.scraper,
                          apps::app_metrics_options::from(config_.scrape), log_,
                          s.metrics.registry(), s.memory);

    http::router main_routes;
    main_routes.add(http::verb::get, "/health", make_health_handler(s.health),
                    http::route_options("/health"));
    main_routes.add(http::verb::get, "/metrics", make_metrics_handler(s.metrics),
                    http::route_options("/metrics"));
    main_routes.add(http::verb::get, "/routes",
                    apps::make_routes_handler(
                        s.route_table, {config_.routes_api.username, config_.routes_api.password}),
                    http::route_options("/routes"));
    s.app_metrics->register_routes(main_routes);
    if (config_.broker.enabled) {
        s.broker.emplace(config_.broker, push_endpoint(config_), log_, s.metrics.registry());
        s.broker->register_routes(main_routes);
        s.app_metrics->set_metric_path_lookup([&broker = *s.broker](std::string_view app_guid) {
            return broker.custom_metric_path(app_guid);
        });
        if (s.cluster && config_.cluster.bindings.store != cluster::bindings_store::local) {
            share_bindings(s, config_, log_);
        }
    }
    // Pushes need access keys, and only the broker issues them: without it no push could be
    // authorised, so the route is not served at all.
    if (config_.loggregator.enabled()) {
        s.loggregator.emplace(io, config_.loggregator.emitter(), s.memory, log_,
                              s.metrics.registry());
    }
    if (config_.push.enabled && s.broker) {
        s.push.emplace(s.broker->directory(), config_.push.service_options(), log_,
                       s.metrics.registry());
        if (s.loggregator && config_.loggregator.push) {
            s.push->on_accepted([&emitter = *s.loggregator](const push::push_binding& binding,
                                                            const push::push_request& request,
                                                            std::int64_t wall_ms) {
                emitter.emit_push(binding, request, wall_ms);
            });
        }
        s.push->register_routes(main_routes);
        s.app_metrics->add_source(*s.push);
    } else if (config_.push.enabled) {
        log_.info("push API off: no service broker issues access keys");
    }
    if (config_.bosh.ingest_listen) {
        s.bosh_events.emplace(io, config_.bosh.service_options(), log_, s.metrics.registry(),
                              s.memory);
        s.bosh_events->register_routes(main_routes);
        if (s.loggregator && config_.loggregator.bosh) {
            s.bosh_events->on_event([&emitter = *s.loggregator](const bosh::hm_event& event) {
                emitter.emit_bosh(event);
            });
        }
        if (s.cluster) {
            s.hm_relay.emplace(s.routes_strand,
                               cluster::hm_relay_options{.cluster_name = config_.cluster.name},
                               *s.nats, s.bosh_events->distributor(), log_, s.metrics.registry());
            s.bosh_events->set_line_distributor(
                [&relay = *s.hm_relay](std::span<const std::string_view> lines) {
                    relay.distribute(lines);
                });
        }
        if (config_.bosh.grpc.listen) {
            s.bosh_grpc.emplace(io, config_.bosh.egress_options(), s.bosh_events->distributor(),
                                s.bosh_events->validator(), s.memory, log_, s.metrics.registry());
        }
    }
    if (config_.rsocket.tcp_listen || config_.rsocket.websocket_listen) {
        // The broker's keys prove a client's app; without a broker no client can join one.
        // Both outlive the proxy's I/O (services are destroyed after io has stopped).
        s.rsocket_proxy.emplace(io, config_.rsocket.proxy(config_.scrape.timeout), log_,
                                s.metrics.registry(), s.memory,
                                s.broker ? &s.broker->directory() : nullptr);
        s.rsocket_proxy->register_routes(main_routes);
        s.app_metrics->add_source(s.rsocket_proxy->app_source());
    }
    // The peers' pushed series and RSocket clients follow this node's own.
    if (s.cluster) {
        if (s.push) {
            s.cluster->add_local_source(*s.push);
            s.rate_sync.emplace(
                io, config_.cluster, config_.cluster.resolved_node_id(), s.cluster_boot_id,
                config_.push.rate_window, [&push = *s.push] { return push.rate_use(); }, *s.nats,
                log_, s.metrics.registry());
            s.push->set_peer_usage(&*s.rate_sync);
        }
        if (s.rsocket_proxy) {
            s.cluster->add_local_source(s.rsocket_proxy->app_source());
            // /metrics/connected on any node has every node's clients.
            s.cluster->set_connected_source(
                [&proxy = *s.rsocket_proxy](std::chrono::steady_clock::time_point deadline,
                                            std::vector<std::string>& out) {
                    return proxy.pull_connected(deadline, out);
                });
            s.rsocket_proxy->set_connected_peers(
                [&cluster = *s.cluster](std::chrono::steady_clock::time_point deadline) {
                    return cluster.gather_connected(deadline);
                });
            // /metrics/proxy too: each node's series under its own gateway_node label.
            s.cluster->set_proxy_source([&proxy = *s.rsocket_proxy] { return proxy.proxy_text(); });
            s.rsocket_proxy->set_proxy_peers(
                [&cluster = *s.cluster](std::chrono::steady_clock::time_point deadline)
                    -> asio::awaitable<std::vector<rsocket::peer_proxy_metrics>> {
                    std::vector<rsocket::peer_proxy_metrics> out;
                    for (cluster::peer_text& peer : co_await cluster.gather_proxy(deadline)) {
                        out.push_back({.node = std::move(peer.node), .text = std::move(peer.text)});
                    }
                    co_return out;
                },
                config_.cluster.resolved_node_id());
        }
        s.app_metrics->add_source(*s.cluster);
    }
    // Last: their series follow the app's own (instances, pushes, RSocket clients).
    if (!config_.external_exporters.empty()) {
        s.external_exporters.emplace(config_.external_exporters, *s.scraper,
                                     config_.scrape.max_body_bytes, log_, s.metrics.registry());
        s.app_metrics->add_source(*s.external_exporters);
    }
    // Service discovery: the route table's apps, then those only pushes or RSocket clients know.
    // In cluster mode the peers' directories join them, by name (/v1/sd only).
    std::vector<const apps::app_directory*> sd_directories;
    if (s.push) {
        sd_directories.push_back(&*s.push);
    }
    if (s.rsocket_proxy) {
        sd_directories.push_back(&s.rsocket_proxy->app_directory());
    }
    if (s.cluster) {
        for (const apps::app_directory* directory : sd_directories) {
            s.cluster->add_local_directory(*directory);
        }
    }
    // The status console reads every module through its status accessor, each under its own
    // lock; `s` and the config outlive the main listener that calls it.
    auto gather_status = [&s, &config = config_, started, directories = sd_directories] {
        status_snapshot snapshot;
        snapshot.version = std::string(core::version());
        snapshot.now = std::chrono::steady_clock::now();
        snapshot.uptime = snapshot.now - started;
        snapshot.listeners = configured_listeners(config);
        if (s.nats) {
            snapshot.nats = s.nats->status();
        }
        if (s.cluster) {
            snapshot.cluster = s.cluster->status();
            if (s.broker) {
                snapshot.bindings_store = s.shared_bindings ? s.shared_bindings->status()
                                                            : cluster::bindings_store_status{};
            }
        }
        const auto routes = s.route_table.snapshot();
        snapshot.routes = routes::summarize(*routes, snapshot.now);
        std::vector<apps::directory_listing> listings;
        listings.reserve(directories.size());
        for (const apps::app_directory* directory : directories) {
            apps::directory_listing& listing = listings.emplace_back();
            listing.name = directory->directory_name();
            directory->list_apps(listing.apps);
        }
        snapshot.apps = apps::discover_targets(*routes, listings, {});
        snapshot.scrapes = s.app_metrics->recent_scrapes();
        snapshot.scrape_capacity = s.app_metrics->recent_scrapes_capacity();
        if (s.push && s.broker) {
            snapshot.push_enabled = true;
            snapshot.push_bindings = s.broker->push_bindings();
            snapshot.push_use = s.push->rate_use();
        }
        if (s.rsocket_proxy) {
            snapshot.rsocket = s.rsocket_proxy->status();
        }
        if (s.bosh_events) {
            snapshot.bosh_subscriptions = s.bosh_events->distributor().stats();
        }
        if (s.loggregator) {
            snapshot.loggregator = s.loggregator->status();
        }
        return snapshot;
    };
    main_routes.add(http::verb::get, "/status",
                    make_status_handler(std::move(gather_status),
                                        {config_.routes_api.username, config_.routes_api.password}),
                    http::route_options("/status"));
    main_routes.add(
        http::verb::get, "/v1/sd",
        apps::make_sd_handler(s.route_table, std::move(sd_directories),
                              {config_.routes_api.username, config_.routes_api.password},
                              {.fallback_target = config_.listen.to_string(),
                               .scheme = config_.tls.enabled() ? "https" : "http",
                               .peers = sd_peers(s)}),
        http::route_options("/v1/sd"));
    s.main_server.emplace(io,
                          config_.http.listener(config_.listen, config_.tls, config_.log.access),
                          std::move(main_routes), log_, s.metrics.registry(), s.memory);

    http::router health_routes;
    health_routes.set_fallback(make_health_handler(s.health), http::route_options("health_listen"));
    s.health_server.emplace(io,
                            config_.http.listener(config_.health_listen, {}, config_.log.access),
                            std::move(health_routes), log_, s.metrics.registry(), s.memory);

    // Signals are caught from here on, so a SIGTERM during start-up still drains cleanly.
    core::signal_watcher signals(io.get_executor());
    s.main_server->start();
    s.health_server->start();
    if (s.bosh_events) {
        s.bosh_events->start();
    }
    if (s.bosh_grpc) {
        s.bosh_grpc->start();
    }
    if (s.rsocket_proxy) {
        s.rsocket_proxy->start();
    }
    if (s.loggregator) {
        s.loggregator->start();
    }
    if (s.cluster) {
        s.cluster->start();
    }
    if (s.rate_sync) {
        s.rate_sync->start();
    }
    if (s.hm_relay) {
        s.hm_relay->start();
    }
    if (s.route_subscriber) {
        asio::post(s.routes_strand, [&s] { s.route_subscriber->start(); });
    }

    int exit_code = 0;
    asio::co_spawn(io,
                   serve_until_signal(s, signals, config_.shutdown.drain_timeout, log_, exit_code),
                   asio::detached);

    s.health.set(core::health_state::ready);
    core::sd_notify("READY=1");
    log_.info("ready", {{"version", core::version()},
                        {"listen", config_.listen.to_string()},
                        {"port", s.main_server->local_port()},
                        {"health_listen", config_.health_listen.to_string()},
                        {"health_port", s.health_server->local_port()},
                        {"tls", config_.tls.enabled()},
                        {"bosh_ingest_port", s.bosh_events ? s.bosh_events->ingest_port() : 0},
                        {"bosh_grpc_port", s.bosh_grpc ? s.bosh_grpc->port() : 0},
                        {"loggregator", config_.loggregator.enabled()},
                        {"memory_ceiling_bytes", config_.limits.memory},
                        {"leasable_bytes", s.memory.limit()},
                        {"threads", thread_count}});

    std::vector<std::jthread> workers;
    for (std::uint32_t i = 1; i < thread_count; ++i) {
        workers.emplace_back([&io] { io.run(); });
    }
    io.run();
    workers.clear();
    return exit_code;
}

}  // namespace mgw::gateway
