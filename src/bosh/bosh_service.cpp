// The shells around the pure cores: the ingest sink (decode, count, publish), the event stream
// handler (authorize, attach, pop, write, keep alive) and a one-second maintenance tick
// (subscription expiry, per-subscription counters).
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/bosh/bosh_service.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

constexpr std::size_t max_subscription_id_bytes = 256;

bool valid_subscription_id(std::string_view id) {
    if (id.empty() || id.size() > max_subscription_id_bytes) {
        return false;
    }
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

http::status status_of(auth_status s) {
    switch (s) {
        case auth_status::ok:
            return http::status::ok;
        case auth_status::unauthenticated:
            return http::status::unauthorized;
        case auth_status::forbidden:
            return http::status::forbidden;
        case auth_status::unavailable:
            return http::status::service_unavailable;
    }
    return http::status::internal_server_error;
}

void error_body(http::response& res, http::status code, std::string_view message) {
    res.status(code);
    res.set("Content-Type", "text/plain; charset=utf-8");
    std::string body(message);
    body += '\n';
    res.body(std::move(body));
}

}  // namespace

struct bosh_service::impl : ingest_sink, std::enable_shared_from_this<impl> {
    impl(asio::io_context& io_, bosh_service_options o, core::logger& l, prometheus::Registry& r)
        : io(io_),
          options(std::move(o)),
          log(l),
          distributor(options.distributor),
          gauges(options.gauges),
          validator(io.get_executor(), options.auth, l, r),
          ingest(io, options.ingest, *this, l),
          tick_timer(asio::make_strand(io)),
          events(prometheus::BuildCounter()
                     .Name("mgw_bosh_ingest_events_total")
                     .Help("HM events accepted on the ingest listener, by kind.")
                     .Register(r)),
          heartbeats(events.Add({{"kind", "heartbeat"}})),
          alerts(events.Add({{"kind", "alert"}})),
          rejected(prometheus::BuildCounter()
                       .Name("mgw_bosh_ingest_rejected_total")
                       .Help("HM lines skipped on the ingest listener, by reason.")
                       .Register(r)),
          connections(prometheus::BuildGauge()
                          .Name("mgw_bosh_ingest_connections")
                          .Help("Open connections on the HM ingest listener.")
                          .Register(r)
                          .Add({})),
          dropped(prometheus::BuildCounter()
                      .Name("mgw_bosh_subscription_dropped_total")
                      .Help("Events lost to a full subscription queue, by subscription id.")
                      .Register(r)),
          sent(prometheus::BuildCounter()
                   .Name("mgw_bosh_subscription_sent_total")
                   .Help("Events handed to a stream, by subscription id.")
                   .Register(r)),
          subscriptions(prometheus::BuildGauge()
                            .Name("mgw_bosh_subscriptions")
                            .Help("Subscriptions with a queue (connected or not yet expired).")
                            .Register(r)
                            .Add({})),
          stream_clients(prometheus::BuildGauge()
                             .Name("mgw_bosh_stream_clients")
                             .Help("Connected GET /v1/bosh/events streams.")
                             .Register(r)
                             .Add({})),
          unlisted(prometheus::BuildCounter()
                       .Name("mgw_bosh_gauges_rejected_total")
                       .Help("Heartbeats or alerts left out of /v1/bosh/metrics because its "
                             "instance or alert series limit was reached.")
                       .Register(r)
                       .Add({})) {}

    asio::io_context& io;
    bosh_service_options options;
    core::logger& log;
    subscription_distributor distributor;
    heartbeat_gauges gauges;
    token_validator validator;
    ingest_server ingest;
    asio::steady_timer tick_timer;
    std::atomic<bool> stopped{false};

    prometheus::Family<prometheus::Counter>& events;
    prometheus::Counter& heartbeats;
    prometheus::Counter& alerts;
    prometheus::Family<prometheus::Counter>& rejected;
    prometheus::Gauge& connections;
    prometheus::Family<prometheus::Counter>& dropped;
    prometheus::Family<prometheus::Counter>& sent;
    prometheus::Gauge& subscriptions;
    prometheus::Gauge& stream_clients;
    prometheus::Counter& unlisted;

    std::mutex log_mutex;
    clock::time_point last_reject_log{};
    std::uint64_t rejects_since_log = 0;

    // Per-subscription counters mirrored from the distributor on each tick (tick strand only).
    struct mirrored {
        std::uint64_t sent = 0;
        std::uint64_t dropped = 0;
    };
    std::map<std::string, mirrored, std::less<>> mirror;

    // ingest_sink: runs on the ingest connection's strand.
    void on_lines(std::span<const std::string_view> lines) override {
        std::vector<event_line> accepted;
        accepted.reserve(lines.size());
        const auto now = clock::now();
        for (std::string_view line : lines) {
            if (!line.empty() && line.back() == '\r') {
                line.remove_suffix(1);
            }
            decode_result decoded = decode_hm_event(line);
            if (!decoded.ok()) {
                reject(to_string(decoded.error.failure), decoded.error.detail);
                continue;
            }
            if (const auto* hb = std::get_if<hm_heartbeat>(&*decoded.event)) {
                heartbeats.Increment();
                if (!gauges.record(*hb, now)) {
                    unlisted.Increment();
                }
            } else {
                alerts.Increment();
                if (!gauges.record(std::get<hm_alert>(*decoded.event))) {
                    unlisted.Increment();
                }
            }
            accepted.push_back(std::make_shared<const std::string>(line));
        }
        distributor.publish(accepted);
    }

    void on_oversized_line(std::size_t bytes) override {
        reject("too_long",
               "line of " + std::to_string(bytes) + " bytes exceeds bosh.max_line_bytes");
    }

    void on_connection_change(std::ptrdiff_t delta) override {
        connections.Increment(static_cast<double>(delta));
    }

    // One warning per 10 s at most, with the number skipped meanwhile: a broken sender must
    // not flood the log.
    void reject(std::string_view reason, std::string_view detail) {
        rejected.Add({{"reason", std::string(reason)}}).Increment();
        const std::lock_guard lock(log_mutex);
        ++rejects_since_log;
        const auto now = clock::now();
        if (now - last_reject_log >= std::chrono::seconds(10)) {
            log.warn("bosh ingest line skipped", {{"reason", reason},
                                                  {"detail", detail},
                                                  {"skipped_since_last_log", rejects_since_log}});
            last_reject_log = now;
            rejects_since_log = 0;
        }
    }

    void tick() {
        const auto now = clock::now();
        for (const std::string& id : distributor.expire_idle(now)) {
            log.info("bosh subscription expired", {{"subscription_id", id}});
        }
        const auto stats = distributor.stats();
        std::map<std::string, mirrored, std::less<>> next;
        for (const subscription_stats& s : stats) {
            mirrored& before = mirror[s.id];
            const std::map<std::string, std::string> labels{{"subscription_id", s.id}};
            auto& sent_counter = sent.Add(labels);
            auto& dropped_counter = dropped.Add(labels);
            sent_counter.Increment(static_cast<double>(s.delivered - before.sent));
            dropped_counter.Increment(static_cast<double>(s.dropped - before.dropped));
            next[s.id] = {s.delivered, s.dropped};
        }
        for (const auto& [id, m] : mirror) {
            if (!next.contains(id)) {
                const std::map<std::string, std::string> labels{{"subscription_id", id}};
                sent.Remove(&sent.Add(labels));
                dropped.Remove(&dropped.Add(labels));
            }
        }
        mirror = std::move(next);
        subscriptions.Set(static_cast<double>(stats.size()));
    }

    asio::awaitable<void> tick_loop() {
        auto self = shared_from_this();
        while (!stopped.load()) {
            tick_timer.expires_after(std::chrono::seconds(1));
            auto [ec] = co_await tick_timer.async_wait(use_tuple);
            if (ec) {
                co_return;
            }
            tick();
        }
    }

    asio::awaitable<void> serve_events(http::request_context& ctx, http::response& res) {
        auto self = shared_from_this();
        const auto subscription_id = ctx.query("subscription_id");
        if (!subscription_id || !valid_subscription_id(*subscription_id)) {
            error_body(res, http::status::bad_request,
                       "subscription_id is required: 1 to 256 printable characters");
            co_return;
        }
        const auth_decision decision =
            co_await validator.validate(ctx.header("Authorization").value_or(""));
        if (decision.status != auth_status::ok) {
            if (decision.status == auth_status::unauthenticated) {
                res.set("WWW-Authenticate", "Bearer");
            }
            error_body(res, status_of(decision.status), decision.message);
            co_return;
        }
        const bool sse =
            ctx.header("Accept").value_or("").find("text/event-stream") != std::string_view::npos;

        auto executor = co_await asio::this_coro::executor;
        auto wake = std::make_shared<wake_channel>(executor, 1);
        const std::string id(*subscription_id);
        const auto consumer = distributor.attach(
            id, [wake] { wake->try_send(boost::system::error_code{}); }, clock::now());
        if (!consumer) {
            error_body(res, http::status::service_unavailable,
                       stopped.load() ? "shutting down"
                                      : "too many subscriptions: try again once one expired");
            co_return;
        }
        stream_clients.Increment();
        struct leave {
            impl& s;
            subscription_distributor::consumer_id c;
            ~leave() {
                s.distributor.detach(c, clock::now());
                s.stream_clients.Decrement();
            }
        } guard{*this, *consumer};
        log.debug("bosh stream attached", {{"subscription_id", id}, {"sse", sse}});

        res.compression(false);
        res.set("Content-Type", sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson");
        res.set("Cache-Control", "no-cache");
        res.set("X-Accel-Buffering", "no");
        // The head goes out now, so the client knows it is subscribed before any event.
        if (co_await res.write_chunk(sse ? ": subscribed\n\n" : "")) {
            co_return;
        }
        std::vector<event_line> batch;
        std::string text;
        asio::steady_timer keepalive(executor);
        for (;;) {
            batch.clear();
            const auto popped = distributor.pop(*consumer, batch, options.max_events_per_write);
            if (popped.count > 0) {
                text.clear();
                for (const event_line& e : batch) {
                    if (sse) {
                        // A bare CR is JSON whitespace but ends an SSE line: made a space.
                        text += "data: ";
                        const std::size_t at = text.size();
                        text += *e;
                        std::replace(text.begin() + static_cast<std::ptrdiff_t>(at), text.end(),
                                     '\r', ' ');
                        text += "\n\n";
                    } else {
                        text += *e;
                        text += '\n';
                    }
                }
                if (co_await res.write_chunk(text)) {
                    co_return;
                }
                continue;
            }
            if (popped.closed) {
                co_return;
            }
            keepalive.expires_after(options.stream_keepalive);
            auto woken =
                co_await (wake->async_receive(use_tuple) || keepalive.async_wait(use_tuple));
            if (woken.index() == 0) {
                if (std::get<0>(std::get<0>(woken))) {
                    co_return;  // cancelled: client gone or drain cut off
                }
                continue;
            }
            if (std::get<0>(std::get<1>(woken))) {
                co_return;
            }
            if (co_await res.write_chunk(sse ? ": keepalive\n\n" : "\n")) {
                co_return;
            }
        }
    }

    asio::awaitable<void> serve_metrics(http::request_context&, http::response& res) {
        res.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        res.body(gauges.render(clock::now()));
        co_return;
    }
};

bosh_service::bosh_service(asio::io_context& io, bosh_service_options options, core::logger& log,
                           prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(io, std::move(options), log, registry)) {}

bosh_service::~bosh_service() {
    stop();
}

void bosh_service::register_routes(http::router& routes) {
    auto self = impl_;
    routes.add(
        http::verb::get, "/v1/bosh/events",
        [self](http::request_context& ctx, http::response& res) -> asio::awaitable<void> {
            co_await self->serve_events(ctx, res);
        },
        http::route_options("/v1/bosh/events", std::nullopt, clock::duration::zero()));
    routes.add(
        http::verb::get, "/v1/bosh/metrics",
        [self](http::request_context& ctx, http::response& res) -> asio::awaitable<void> {
            co_await self->serve_metrics(ctx, res);
        },
        http::route_options("/v1/bosh/metrics"));
}

void bosh_service::start() {
    impl_->ingest.start();
    asio::co_spawn(impl_->tick_timer.get_executor(), impl_->tick_loop(), asio::detached);
}

std::uint16_t bosh_service::ingest_port() const {
    return impl_->ingest.local_port();
}

void bosh_service::stop() {
    if (impl_->stopped.exchange(true)) {
        return;
    }
    impl_->ingest.stop();
    impl_->distributor.close();
    asio::dispatch(impl_->tick_timer.get_executor(), [self = impl_] { self->tick_timer.cancel(); });
}

}  // namespace mgw::bosh
