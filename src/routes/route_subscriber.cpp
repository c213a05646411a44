// Routes module: NATS subscriber feeding the route table (gorouter's protocol).
#include <atomic>
#include <random>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/routes/route_subscriber.hpp>

namespace mgw::routes {

namespace asio = boost::asio;

namespace {

std::string random_uuid() {
    std::random_device device;
    std::mt19937_64 generator((static_cast<std::uint64_t>(device()) << 32) | device());
    std::uint64_t high = generator();
    std::uint64_t low = generator();
    high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff,
                       high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

}  // namespace

struct route_subscriber::impl : std::enable_shared_from_this<route_subscriber::impl> {
    impl(asio::any_io_executor s, route_table& t, nats::client& n, route_table_options to,
         subscriber_options o, core::logger& l, prometheus::Registry& r)
        : strand(std::move(s)),
          table(t),
          nats(n),
          options(std::move(o)),
          log(l),
          prune_timer(strand),
          publish_timer(strand),
          routes_gauge(prometheus::BuildGauge()
                           .Name("mgw_routes")
                           .Help("Endpoints in the route table (route key, address pairs)")
                           .Register(r)
                           .Add({})),
          registers(prometheus::BuildCounter()
                        .Name("mgw_routes_registers_total")
                        .Help("router.register messages applied")
                        .Register(r)
                        .Add({})),
          unregisters(prometheus::BuildCounter()
                          .Name("mgw_routes_unregisters_total")
                          .Help("router.unregister messages applied")
                          .Register(r)
                          .Add({})),
          pruned(prometheus::BuildCounter()
                     .Name("mgw_routes_pruned_total")
                     .Help("Endpoints dropped because they were not re-registered in time")
                     .Register(r)
                     .Add({})),
          without_app_id(prometheus::BuildCounter()
                             .Name("mgw_routes_without_app_id_total")
                             .Help("router.register messages whose tags carry no app_id "
                                   "(kept out of app lookups)")
                             .Register(r)
                             .Add({})),
          rejected_family(prometheus::BuildCounter()
                              .Name("mgw_routes_rejected_total")
                              .Help("Decoded register/unregister messages that could not apply")
                              .Register(r)),
          greets(prometheus::BuildCounter()
                     .Name("mgw_routes_greets_total")
                     .Help("router.greet requests answered")
                     .Register(r)
                     .Add({})),
          starts(prometheus::BuildCounter()
                     .Name("mgw_routes_starts_published_total")
                     .Help("router.start announcements (first connection and every reconnect)")
                     .Register(r)
                     .Add({})),
          // Promfetcher's two route metrics, broken there (a constant ~9.2e9 and a counter
          // never incremented), working as their names say here.
          latest_route_time(prometheus::BuildGauge()
                                .Name("promfetch_latest_time_scrape_route")
                                .Help("Unix time of the latest router.register or "
                                      "router.unregister applied to the route table")
                                .Register(r)
                                .Add({})),
          route_failed(prometheus::BuildCounter()
                           .Name("promfetch_scrape_route_failed_total")
                           .Help("Route messages from NATS that could not be turned into a "
                                 "route (undecodable or not applicable)")
                           .Register(r)
                           .Add({})) {
        if (options.minimum_register_interval < std::chrono::seconds(1)) {
            throw std::invalid_argument(
                "routes: minimum register interval must be at least 1 s (emitters use it as a "
                "ticker period)");
        }
        if (options.prune_interval <= std::chrono::milliseconds::zero() ||
            options.publish_interval <= std::chrono::milliseconds::zero()) {
            throw std::invalid_argument("routes: prune and publish intervals must be positive");
        }
        if (options.router_id.empty()) {
            options.router_id = "0-" + random_uuid();
        }
        // As gorouter: a threshold below the register interval would expire routes between
        // two re-registrations.
        const auto prune_threshold =
            std::max(to.max_stale_threshold, options.minimum_register_interval);
        boost::json::array hosts;
        for (const auto& host : options.hosts) {
            hosts.emplace_back(host);
        }
        payload = boost::json::serialize(boost::json::object{
            {"id", options.router_id},
            {"hosts", std::move(hosts)},
            {"minimumRegisterIntervalInSeconds", options.minimum_register_interval.count()},
            {"pruneThresholdInSeconds", prune_threshold.count()},
        });
    }

    void on_register(const nats::message& m) {
        const auto decoded = decode_registry_message(m.data);
        if (!decoded) {
            bad_message(m, decoded.error());
            return;
        }
        const update_result result = table.register_endpoint(*decoded, route_clock::now());
        registers.Increment();
        mark_applied(result);
        if (!result.has_app_id) {
            without_app_id.Increment();
        }
        count_rejected(result);
        changed();
    }

    void on_unregister(const nats::message& m) {
        const auto decoded = decode_registry_message(m.data);
        if (!decoded) {
            bad_message(m, decoded.error());
            return;
        }
        const update_result result = table.unregister_endpoint(*decoded);
        unregisters.Increment();
        mark_applied(result);
        count_rejected(result);
        changed();
    }

    void on_greet(const nats::message& m) {
        if (m.reply.empty()) {
            return;
        }
        greets.Increment();
        if (!nats.publish(m.reply, payload)) {
            log.warn("cannot answer router.greet", {{"reply", m.reply}});
        }
    }

    void on_connected() {
        if (table.pruning_suspended()) {
            table.resume_pruning(route_clock::now());
        }
        // Emitters re-send every route when they see a router.start: this refills the table
        // after a reconnect.
        if (nats.publish("router.start", payload)) {
            starts.Increment();
        } else {
            log.warn("cannot publish router.start");
        }
    }

    void on_disconnected() { table.suspend_pruning(); }

    void mark_applied(const update_result& result) {
        if (result.rejected.empty()) {
            latest_route_time.SetToCurrentTime();
        }
    }

    void bad_message(const nats::message& m, const decode_error& error) {
        nats.count_bad_message();
        route_failed.Increment();
        // A broken emitter can send thousands per second: log one in each period.
        const auto now = route_clock::now();
        ++bad_since_log;
        if (now - last_bad_log >= std::chrono::seconds(10)) {
            log.warn("rejected route message", {{"subject", m.subject},
                                                {"error", error.message()},
                                                {"rejected_since_last_log", bad_since_log}});
            last_bad_log = now;
            bad_since_log = 0;
        }
    }

    void count_rejected(const update_result& result) {
        if (!result.rejected.empty()) {
            rejected_family.Add({{"reason", std::string(result.rejected)}}).Increment();
            route_failed.Increment();
        }
    }

    void changed() {
        routes_gauge.Set(static_cast<double>(table.endpoint_count()));
        if (!table.dirty() || publish_pending || stopped) {
            return;
        }
        publish_pending = true;
        publish_timer.expires_after(options.publish_interval);
        publish_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->publish_pending = false;
            if (!ec && !self->stopped) {
                self->table.publish();
            }
        });
    }

    void schedule_prune() {
        prune_timer.expires_after(options.prune_interval);
        prune_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped) {
                return;
            }
            if (const std::size_t n = self->table.prune(route_clock::now()); n > 0) {
                self->pruned.Increment(static_cast<double>(n));
                self->log.info("pruned stale routes", {{"endpoints", n}});
                self->changed();
            }
            self->schedule_prune();
        });
    }

    asio::any_io_executor strand;
    route_table& table;
    nats::client& nats;
    subscriber_options options;
    core::logger& log;
    asio::steady_timer prune_timer;
    asio::steady_timer publish_timer;
    prometheus::Gauge& routes_gauge;
    prometheus::Counter& registers;
    prometheus::Counter& unregisters;
    prometheus::Counter& pruned;
    prometheus::Counter& without_app_id;
    prometheus::Family<prometheus::Counter>& rejected_family;
    prometheus::Counter& greets;
    prometheus::Counter& starts;
    prometheus::Gauge& latest_route_time;
    prometheus::Counter& route_failed;
    std::string payload;
    bool publish_pending = false;
    std::atomic<bool> stopped{false};
    bool started = false;
    route_clock::time_point last_bad_log{};
    std::uint64_t bad_since_log = 0;
};

route_subscriber::route_subscriber(asio::any_io_executor strand, route_table& table,
                                   nats::client& nats, route_table_options table_options,
                                   subscriber_options options, core::logger& log,
                                   prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(std::move(strand), table, nats, table_options,
                                   std::move(options), log, registry)) {}

route_subscriber::~route_subscriber() {
    impl_->stopped = true;
}

void route_subscriber::start() {
    if (impl_->started) {
        throw std::logic_error("route_subscriber: start() called twice");
    }
    impl_->started = true;
    // The handlers hold weak references: the NATS client may outlive this subscriber.
    std::weak_ptr<impl> weak = impl_;
    impl_->nats.subscribe("router.register", [weak](nats::message m) {
        if (auto self = weak.lock(); self && !self->stopped) {
            self->on_register(m);
        }
    });
    impl_->nats.subscribe("router.unregister", [weak](nats::message m) {
        if (auto self = weak.lock(); self && !self->stopped) {
            self->on_unregister(m);
        }
    });
    impl_->nats.subscribe("router.greet", [weak](nats::message m) {
        if (auto self = weak.lock(); self && !self->stopped) {
            self->on_greet(m);
        }
    });
    impl_->nats.on_connected([weak] {
        if (auto self = weak.lock(); self && !self->stopped) {
            self->on_connected();
        }
    });
    impl_->nats.on_disconnected([weak] {
        if (auto self = weak.lock(); self && !self->stopped) {
            self->on_disconnected();
        }
    });
    impl_->routes_gauge.Set(static_cast<double>(impl_->table.endpoint_count()));
    impl_->table.publish();
    impl_->nats.start();
    asio::post(impl_->strand, [self = impl_] { self->schedule_prune(); });
}

void route_subscriber::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    impl_->prune_timer.cancel();
    impl_->publish_timer.cancel();
    impl_->table.publish();
    impl_->nats.close();
}

const std::string& route_subscriber::start_payload() const {
    return impl_->payload;
}

}  // namespace mgw::routes
