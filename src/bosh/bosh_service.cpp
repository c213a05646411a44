// The shells around the pure cores: the ingest sink (decode, count, publish), the event stream
// handler (authorize, attach, pop, write, keep alive), GET /v1/bosh/metrics, and a one-second
// maintenance tick (subscription expiry, per-subscription counters).
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
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
#include <mgw/core/log_throttle.hpp>
#include <mgw/exposition/content_type.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

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

std::string_view to_string(skip_reason reason) {
    return reason == skip_reason::memory ? "memory" : "too_long";
}

}  // namespace

struct bosh_service::impl : ingest_sink, std::enable_shared_from_this<impl> {
    impl(asio::io_context& io_, bosh_service_options o, core::logger& l, prometheus::Registry& r,
         core::memory_budget& memory)
        : io(io_),
          options(std::move(o)),
          log(l),
          labelled(options.labelled_subscriptions.begin(), options.labelled_subscriptions.end()),
          distributor(options.distributor, memory),
          gauges(options.gauges, memory),
          validator(io.get_executor(), options.auth, l, r),
          ingest(io, options.ingest, *this, memory, l),
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
          ingest_closed(prometheus::BuildCounter()
                            .Name("mgw_bosh_ingest_connections_closed_total")
                            .Help("Ingest connections the gateway ended, by reason (refused: "
                                  "bosh.ingest_max_connections were open; idle: no line for "
                                  "bosh.ingest_idle_timeout).")
                            .Register(r)),
          refused_connections(ingest_closed.Add({{"reason", "refused"}})),
          idle_connections(ingest_closed.Add({{"reason", "idle"}})),
          dropped(prometheus::BuildCounter()
                      .Name("mgw_bosh_subscription_dropped_total")
                      .Help("Events a subscription lost, by subscription (those listed in "
                            "bosh.labelled_subscriptions, the rest as \"other\") and reason "
                            "(queue_full: bosh.queue_size or bosh.queue_bytes; memory: "
                            "limits.memory).")
                      .Register(r)),
          sent(prometheus::BuildCounter()
                   .Name("mgw_bosh_subscription_sent_total")
                   .Help("Events handed to a stream, by subscription (those listed in "
                         "bosh.labelled_subscriptions, the rest as \"other\").")
                   .Register(r)),
          returned(prometheus::BuildCounter()
                       .Name("mgw_bosh_subscription_returned_total")
                       .Help("Events a stream could not deliver (its client went away) and "
                             "gave back to its subscription.")
                       .Register(r)
                       .Add({})),
          subscriptions(prometheus::BuildGauge()
                            .Name("mgw_bosh_subscriptions")
                            .Help("Subscriptions with a queue (connected or not yet expired).")
                            .Register(r)
                            .Add({})),
          queued_bytes(prometheus::BuildGauge()
                           .Name("mgw_bosh_subscription_queued_bytes")
                           .Help("Bytes of events waiting in subscription queues (each "
                                 "subscription's own count; an event is stored once).")
                           .Register(r)
                           .Add({})),
          stream_clients(prometheus::BuildGauge()
                             .Name("mgw_bosh_stream_clients")
                             .Help("Connected GET /v1/bosh/events streams.")
                             .Register(r)
                             .Add({})),
          streams_refused(prometheus::BuildCounter()
                              .Name("mgw_bosh_streams_refused_total")
                              .Help("Authorized event streams that could not subscribe, by "
                                    "reason (invalid_id, too_many_subscriptions, "
                                    "too_many_consumers, closed).")
                              .Register(r)),
          unlisted(prometheus::BuildCounter()
                       .Name("mgw_bosh_gauges_rejected_total")
                       .Help("Heartbeats or alerts left out of /v1/bosh/metrics because its "
                             "instance, alert series or byte limit was reached.")
                       .Register(r)
                       .Add({})) {
        for (const std::string& id : options.labelled_subscriptions) {
            touch_series(id);
        }
        touch_series(std::string(other_subscriptions_label));
    }

    asio::io_context& io;
    bosh_service_options options;
    core::logger& log;
    std::set<std::string, std::less<>> labelled;
    subscription_distributor distributor;
    heartbeat_gauges gauges;
    token_validator validator;
    ingest_server ingest;
    asio::steady_timer tick_timer;
    std::atomic<bool> stopped{false};
    event_listener listener;
    line_distributor distribute;

    prometheus::Family<prometheus::Counter>& events;
    prometheus::Counter& heartbeats;
    prometheus::Counter& alerts;
    prometheus::Family<prometheus::Counter>& rejected;
    prometheus::Gauge& connections;
    prometheus::Family<prometheus::Counter>& ingest_closed;
    prometheus::Counter& refused_connections;
    prometheus::Counter& idle_connections;
    prometheus::Family<prometheus::Counter>& dropped;
    prometheus::Family<prometheus::Counter>& sent;
    prometheus::Counter& returned;
    prometheus::Gauge& subscriptions;
    prometheus::Gauge& queued_bytes;
    prometheus::Gauge& stream_clients;
    prometheus::Family<prometheus::Counter>& streams_refused;
    prometheus::Counter& unlisted;

    core::log_throttle reject_log;

    // Per-subscription counts as last mirrored into the counters (tick strand only).
    struct mirrored {
        std::uint64_t sent = 0;
        std::uint64_t dropped_full = 0;
        std::uint64_t dropped_memory = 0;
        std::uint64_t returned = 0;
    };
    std::map<std::string, mirrored, std::less<>> mirror;

    std::string label_of(std::string_view id) const {
        return labelled.contains(id) ? std::string(id) : std::string(other_subscriptions_label);
    }

    // Every series of the fixed label set exists from the start, at 0.
    void touch_series(const std::string& label) {
        sent.Add({{"subscription_id", label}});
        dropped.Add({{"subscription_id", label}, {"reason", "queue_full"}});
        dropped.Add({{"subscription_id", label}, {"reason", "memory"}});
    }

    // ingest_sink: runs on the ingest connection's strand.
    void on_lines(std::span<const std::string_view> lines) override {
        std::vector<std::string_view> accepted;
        accepted.reserve(lines.size());
        const auto now = clock::now();
        for (std::string_view line : lines) {
            if (!line.empty() && line.back() == '\r') {
                line.remove_suffix(1);
            }
            decode_result decoded = decode_hm_event(line);
            if (decoded.has_error()) {
                reject(to_string(decoded.error().failure()), decoded.error().detail);
                continue;
            }
            if (const auto* hb = std::get_if<hm_heartbeat>(&*decoded)) {
                heartbeats.Increment();
                if (!gauges.record(*hb, now)) {
                    unlisted.Increment();
                }
            } else {
                alerts.Increment();
                if (!gauges.record(std::get<hm_alert>(*decoded))) {
                    unlisted.Increment();
                }
            }
            if (listener) {
                listener(*decoded);
            }
            accepted.push_back(line);
        }
        if (distribute) {
            distribute(accepted);
        } else {
            distributor.publish(accepted);
        }
    }

    void on_skipped_line(skip_reason reason, std::size_t bytes) override {
        reject(to_string(reason),
               reason == skip_reason::memory
                   ? "line of at least " + std::to_string(bytes) +
                         " bytes skipped: limits.memory reached"
                   : "line of " + std::to_string(bytes) + " bytes exceeds bosh.max_line_bytes");
    }

    void on_connection_change(std::ptrdiff_t delta) override {
        connections.Increment(static_cast<double>(delta));
    }

    void on_connection_refused() override { refused_connections.Increment(); }

    void on_idle_timeout() override { idle_connections.Increment(); }

    // A broken or hostile sender must not flood the log: one line per 10 s at most.
    void reject(std::string_view reason, std::string_view detail) {
        rejected.Add({{"reason", std::string(reason)}}).Increment();
        if (const auto occurrences = reject_log.admit()) {
            log.warn("bosh ingest line skipped",
                     {{"reason", reason}, {"detail", detail}, {"occurrences", *occurrences}});
        }
    }

    void mirror_counts(const subscription_stats& s, mirrored& before) {
        const std::string label = label_of(s.id);
        sent.Add({{"subscription_id", label}})
            .Increment(static_cast<double>(s.delivered - before.sent));
        dropped.Add({{"subscription_id", label}, {"reason", "queue_full"}})
            .Increment(static_cast<double>(s.dropped_full - before.dropped_full));
        dropped.Add({{"subscription_id", label}, {"reason", "memory"}})
            .Increment(static_cast<double>(s.dropped_memory - before.dropped_memory));
        returned.Increment(static_cast<double>(s.returned - before.returned));
        before = {s.delivered, s.dropped_full, s.dropped_memory, s.returned};
    }

    void tick() {
        const auto now = clock::now();
        for (const subscription_stats& s : distributor.expire_idle(now)) {
            mirror_counts(s, mirror[s.id]);  // what happened since the last tick still counts
            mirror.erase(s.id);
            log.info("bosh subscription expired", {{"subscription_id", s.id}});
        }
        std::size_t bytes = 0;
        const auto stats = distributor.stats();
        for (const subscription_stats& s : stats) {
            mirror_counts(s, mirror[s.id]);
            bytes += s.queued_bytes;
        }
        subscriptions.Set(static_cast<double>(stats.size()));
        queued_bytes.Set(static_cast<double>(bytes));
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

    // Answers the refusal itself and returns false unless the request may proceed.
    asio::awaitable<bool> authorize(http::request_context& ctx, http::response& res) {
        const auth_decision decision =
            co_await validator.validate(ctx.header("Authorization").value_or(""));
        if (decision.status == auth_status::ok) {
            co_return true;
        }
        if (decision.status == auth_status::unauthenticated) {
            res.set("WWW-Authenticate", "Bearer");
        }
        error_body(res, status_of(decision.status), decision.message);
        co_return false;
    }

    asio::awaitable<void> serve_events(http::request_context& ctx, http::response& res) {
        auto self = shared_from_this();
        const auto subscription_id = ctx.query("subscription_id");
        if (!subscription_id || subscription_id->empty() ||
            !valid_subscription_id(*subscription_id)) {
            error_body(res, http::status::bad_request,
                       "subscription_id is required: 1 to 256 printable characters");
            co_return;
        }
        if (!co_await authorize(ctx, res)) {
            co_return;
        }
        const bool sse =
            ctx.header("Accept").value_or("").find("text/event-stream") != std::string_view::npos;

        auto executor = co_await asio::this_coro::executor;
        auto wake = std::make_shared<wake_channel>(executor, 1);
        const std::string id(*subscription_id);
        const auto attached = distributor.attach(
            id, [wake] { wake->try_send(boost::system::error_code{}); }, clock::now());
        if (!attached.consumer) {
            streams_refused.Add({{"reason", std::string(to_string(attached.error))}}).Increment();
            switch (attached.error) {
                case attach_error::invalid_id:
                    error_body(res, http::status::bad_request,
                               "subscription_id is required: 1 to 256 printable characters");
                    break;
                case attach_error::too_many_subscriptions:
                    error_body(res, http::status::service_unavailable,
                               "too many subscriptions: try again once one expired");
                    break;
                case attach_error::too_many_consumers:
                    error_body(res, http::status::service_unavailable,
                               "too many streams share this subscription_id");
                    break;
                case attach_error::closed:
                    error_body(res, http::status::service_unavailable, "shutting down");
                    break;
            }
            co_return;
        }
        const auto consumer = *attached.consumer;
        stream_clients.Increment();
        struct leave {
            impl& s;
            subscription_distributor::consumer_id c;
            ~leave() {
                s.distributor.detach(c, clock::now());
                s.stream_clients.Decrement();
            }
        } guard{*this, consumer};
        log.debug("bosh stream attached", {{"subscription_id", id}, {"sse", sse}});

        res.compression(false);
        res.set("Content-Type", sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson");
        res.set("Cache-Control", "no-cache");
        res.set("X-Accel-Buffering", "no");
        // The head goes out now, so the client knows it is subscribed before any event.
        // Every write below goes through the HTTP layer, whose deadlines apply to it: a client
        // that stops reading ends its stream, and the guard hands its events to the group.
        if (co_await res.write_chunk(sse ? ": subscribed\n\n" : "")) {
            co_return;
        }
        std::vector<event_ptr> batch;
        std::string text;
        asio::steady_timer keepalive(executor);
        for (;;) {
            batch.clear();
            const auto popped = distributor.pop(consumer, batch, options.max_events_per_write,
                                                options.max_bytes_per_write);
            if (popped.count > 0) {
                text.clear();
                for (const event_ptr& e : batch) {
                    if (sse) {
                        // A bare CR is JSON whitespace but ends an SSE line: made a space.
                        text += "data: ";
                        const std::size_t at = text.size();
                        text += e->json;
                        std::replace(text.begin() + static_cast<std::ptrdiff_t>(at), text.end(),
                                     '\r', ' ');
                        text += "\n\n";
                    } else {
                        text += e->json;
                        text += '\n';
                    }
                }
                if (co_await res.write_chunk(text)) {
                    // Not delivered: another consumer of the group may still deliver them.
                    distributor.give_back(consumer, batch);
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

    asio::awaitable<void> serve_metrics(http::request_context& ctx, http::response& res) {
        auto self = shared_from_this();
        if (options.metrics_access == metrics_auth::uaa && !co_await authorize(ctx, res)) {
            co_return;
        }
        res.set("Content-Type", exposition::prometheus_text_content_type);
        res.body(gauges.render(clock::now()));
        co_return;
    }
};

bosh_service::bosh_service(asio::io_context& io, bosh_service_options options, core::logger& log,
                           prometheus::Registry& registry, core::memory_budget& memory)
    : impl_(std::make_shared<impl>(io, std::move(options), log, registry, memory)) {}

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

void bosh_service::on_event(event_listener listener) {
    impl_->listener = std::move(listener);
}

void bosh_service::set_line_distributor(line_distributor distribute) {
    impl_->distribute = std::move(distribute);
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

subscription_distributor& bosh_service::distributor() {
    return impl_->distributor;
}

token_validator& bosh_service::validator() {
    return impl_->validator;
}

}  // namespace mgw::bosh
