// The emitter's shell: the producers' side (encode, queue, wake), one connection loop on the
// channel's strand (wait for the backoff, connect, run the core as the session, repeat), a
// one-second tick that mirrors the core's and the queue's counters into the registry and logs
// the agent's state, and the drain.
#include <algorithm>
#include <atomic>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/loggregator/emitter.hpp>

#include "bosh_envelopes.hpp"
#include "emitter_core.hpp"
#include "envelope_queue.hpp"
#include "push_envelopes.hpp"

namespace mgw::loggregator {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The same failure is logged again at most this often while the agent stays unreachable.
constexpr auto repeat_warning = std::chrono::seconds(60);

std::uint64_t seed_of(std::uint64_t configured) {
    if (configured != 0) {
        return configured;
    }
    return static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
}

emitter_core_options core_options(const emitter_options& options) {
    emitter_core_options core;
    core.batch_size = options.batch_size;
    core.batch_interval = options.batch_interval;
    core.seed = seed_of(options.seed);
    return core;
}

}  // namespace

// The registry's view of the emitter, every label from a fixed set.
struct emitter_metrics {
    explicit emitter_metrics(prometheus::Registry& r)
        : offered_family(prometheus::BuildCounter()
                             .Name("mgw_loggregator_envelopes_total")
                             .Help("Envelopes made from accepted pushes and HM events, before "
                                   "the queue, by source.")
                             .Register(r)),
          sent_family(prometheus::BuildCounter()
                          .Name("mgw_loggregator_envelopes_sent_total")
                          .Help("Envelopes written to the Loggregator agent, by source.")
                          .Register(r)),
          dropped_family(prometheus::BuildCounter()
                             .Name("mgw_loggregator_envelopes_dropped_total")
                             .Help("Envelopes dropped, by source and reason (queue_full: "
                                   "loggregator.queue_bytes; memory: limits.memory; shutdown: "
                                   "not sent within the drain timeout).")
                             .Register(r)),
          errors_family(prometheus::BuildCounter()
                            .Name("mgw_loggregator_send_errors_total")
                            .Help("Failed connection attempts and connections to the Loggregator "
                                  "agent, by reason.")
                            .Register(r)),
          batches(prometheus::BuildCounter()
                      .Name("mgw_loggregator_batches_sent_total")
                      .Help("BatchSender messages written to the Loggregator agent.")
                      .Register(r)
                      .Add({})),
          connections(prometheus::BuildCounter()
                          .Name("mgw_loggregator_connections_total")
                          .Help("Connections the Loggregator agent accepted.")
                          .Register(r)
                          .Add({})),
          reconnects(prometheus::BuildCounter()
                         .Name("mgw_loggregator_reconnects_total")
                         .Help("Connection attempts to the Loggregator agent after the first.")
                         .Register(r)
                         .Add({})),
          agent_up(prometheus::BuildGauge()
                       .Name("mgw_loggregator_agent_up")
                       .Help("1 while a BatchSender call to the Loggregator agent is open.")
                       .Register(r)
                       .Add({})),
          queue_bytes(prometheus::BuildGauge()
                          .Name("mgw_loggregator_queue_bytes")
                          .Help("Bytes of envelopes queued for the Loggregator agent.")
                          .Register(r)
                          .Add({})),
          queue_envelopes(prometheus::BuildGauge()
                              .Name("mgw_loggregator_queue_envelopes")
                              .Help("Envelopes queued for the Loggregator agent.")
                              .Register(r)
                              .Add({})) {
        for (std::size_t s = 0; s < source_count; ++s) {
            const std::string source(to_string(static_cast<envelope_source>(s)));
            offered[s] = &offered_family.Add({{"source", source}});
            sent[s] = &sent_family.Add({{"source", source}});
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                dropped[s][r] = &dropped_family.Add(
                    {{"source", source},
                     {"reason", std::string(to_string(static_cast<drop_reason>(r)))}});
            }
        }
        for (std::size_t e = 0; e < send_error_count; ++e) {
            errors[e] = &errors_family.Add(
                {{"reason", std::string(to_string(static_cast<send_error>(e)))}});
        }
    }

    // Counters only go up by what changed since the last sync.
    static void advance(prometheus::Counter& counter, std::uint64_t now, std::uint64_t& seen) {
        if (now > seen) {
            counter.Increment(static_cast<double>(now - seen));
        }
        seen = now;
    }

    void sync(const emitter_core& core, const envelope_queue& queue) {
        const emitter_counters& c = core.counters();
        for (std::size_t s = 0; s < source_count; ++s) {
            const auto source = static_cast<envelope_source>(s);
            advance(*offered[s], queue.offered(source), seen_offered[s]);
            advance(*sent[s], c.envelopes_sent[s], seen_sent[s]);
            for (std::size_t r = 0; r < drop_reason_count; ++r) {
                advance(*dropped[s][r], queue.dropped(source, static_cast<drop_reason>(r)),
                        seen_dropped[s][r]);
            }
        }
        for (std::size_t e = 0; e < send_error_count; ++e) {
            advance(*errors[e], c.send_errors[e], seen_errors[e]);
        }
        advance(batches, c.batches_sent, seen_batches);
        advance(connections, c.connections, seen_connections);
        advance(reconnects, c.reconnects, seen_reconnects);
        agent_up.Set(core.agent_up() ? 1 : 0);
        queue_bytes.Set(static_cast<double>(queue.held_bytes()));
        queue_envelopes.Set(static_cast<double>(queue.held_envelopes()));
    }

    prometheus::Family<prometheus::Counter>& offered_family;
    prometheus::Family<prometheus::Counter>& sent_family;
    prometheus::Family<prometheus::Counter>& dropped_family;
    prometheus::Family<prometheus::Counter>& errors_family;
    prometheus::Counter& batches;
    prometheus::Counter& connections;
    prometheus::Counter& reconnects;
    prometheus::Gauge& agent_up;
    prometheus::Gauge& queue_bytes;
    prometheus::Gauge& queue_envelopes;
    std::array<prometheus::Counter*, source_count> offered{};
    std::array<prometheus::Counter*, source_count> sent{};
    std::array<std::array<prometheus::Counter*, drop_reason_count>, source_count> dropped{};
    std::array<prometheus::Counter*, send_error_count> errors{};

    std::array<std::uint64_t, source_count> seen_offered{};
    std::array<std::uint64_t, source_count> seen_sent{};
    std::array<std::array<std::uint64_t, drop_reason_count>, source_count> seen_dropped{};
    std::array<std::uint64_t, send_error_count> seen_errors{};
    std::uint64_t seen_batches = 0;
    std::uint64_t seen_connections = 0;
    std::uint64_t seen_reconnects = 0;
};

struct emitter::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, emitter_options o, core::memory_budget& budget, core::logger& l,
         prometheus::Registry& registry)
        : options(std::move(o)),
          log(l),
          agent(options.agent.host + ":" + std::to_string(options.agent.port)),
          queue({.max_bytes = options.queue_bytes, .wake_envelopes = options.batch_size}, budget),
          channel(io, options.agent, budget),
          core(core_options(options), queue, clock::now()),
          attempt_timer(channel.get_executor()),
          tick_timer(channel.get_executor()),
          metrics(registry) {}

    emitter_options options;
    core::logger& log;
    std::string agent;
    envelope_queue queue;
    grpc::client_channel channel;
    emitter_core core;  // the channel's strand only
    asio::steady_timer attempt_timer;
    asio::steady_timer tick_timer;
    emitter_metrics metrics;  // the strand only
    std::atomic<bool> stopping{false};
    std::atomic<bool> running{false};
    std::atomic<bool> wake_pending{false};
    std::atomic<bool> up{false};
    bool loop_done = false;

    // Logging of the agent's state (the strand only).
    bool logged_up = false;
    std::optional<send_error> logged_error;
    clock::time_point logged_at{};

    void wake() {
        // One post at a time: under load the queue wakes the emitter once per full batch.
        if (!running.load(std::memory_order_relaxed) ||
            wake_pending.exchange(true, std::memory_order_acq_rel)) {
            return;
        }
        asio::post(channel.get_executor(), [self = shared_from_this()] {
            self->wake_pending.store(false, std::memory_order_release);
            self->channel.poke();
        });
    }

    void sync() {
        metrics.sync(core, queue);
        up.store(core.agent_up(), std::memory_order_relaxed);
        if (core.agent_up() && !logged_up) {
            logged_up = true;
            logged_error.reset();
            log.info("loggregator agent connected", {{"agent", agent}});
        }
    }

    void note_failure(send_error error, const std::string& detail) {
        const auto now = clock::now();
        const bool news = logged_up || logged_error != error || now - logged_at >= repeat_warning;
        logged_up = false;
        if (!news) {
            return;
        }
        logged_error = error;
        logged_at = now;
        const auto retry = static_cast<std::int64_t>(core.retry_delay().count());
        const std::size_t queued = queue.held_envelopes();
        switch (error) {
            case send_error::connect:
                log.warn("loggregator agent unreachable", {{"agent", agent},
                                                           {"error", detail},
                                                           {"retry_in_ms", retry},
                                                           {"queued_envelopes", queued}});
                break;
            case send_error::tls:
                log.warn(
                    "loggregator agent TLS failed: check loggregator.tls (a client "
                    "certificate signed by the agent's CA, the agent's certificate "
                    "valid for loggregator.server_name)",
                    {{"agent", agent},
                     {"server_name", options.agent.server_name},
                     {"error", detail},
                     {"retry_in_ms", retry},
                     {"queued_envelopes", queued}});
                break;
            case send_error::call: {
                const auto status = core.last_call_status();
                log.warn("loggregator agent ended BatchSender",
                         {{"agent", agent},
                          {"status", status ? grpc::to_string(*status) : std::string_view("none")},
                          {"message", core.last_call_message()},
                          {"retry_in_ms", retry}});
                break;
            }
            case send_error::connection:
                log.warn("loggregator agent connection lost", {{"agent", agent},
                                                               {"error", detail},
                                                               {"retry_in_ms", retry},
                                                               {"queued_envelopes", queued}});
                break;
        }
    }

    asio::awaitable<void> connection_loop() {
        auto self = shared_from_this();
        while (!stopping.load()) {
            if (core.draining() && core.drained()) {
                break;
            }
            if (clock::now() < core.next_attempt()) {
                attempt_timer.expires_at(core.next_attempt());
                co_await attempt_timer.async_wait(use_tuple);
                continue;
            }
            core.attempting();
            grpc::client_outcome outcome = co_await channel.connect();
            if (stopping.load()) {
                break;
            }
            if (!outcome.ok()) {
                core.connect_failed(*outcome.failure, clock::now());
                sync();
                note_failure(*core.last_error(), outcome.detail);
                continue;
            }
            outcome = co_await channel.run(core);
            const auto errors_before = core.counters().send_errors;
            core.connection_ended(outcome, clock::now());
            sync();
            if (core.counters().send_errors != errors_before && core.last_error()) {
                note_failure(*core.last_error(), outcome.detail);
            }
        }
        loop_done = true;
        tick_timer.cancel();
    }

    asio::awaitable<void> tick_loop() {
        auto self = shared_from_this();
        while (!loop_done) {
            tick_timer.expires_after(std::chrono::seconds(1));
            co_await tick_timer.async_wait(use_tuple);
            sync();
        }
    }

    asio::awaitable<bool> drain(clock::time_point deadline) {
        auto self = shared_from_this();
        co_await asio::dispatch(asio::bind_executor(channel.get_executor(), asio::use_awaitable));
        const std::size_t queued = queue.held_envelopes();
        core.begin_drain();
        attempt_timer.cancel();
        channel.poke();
        asio::steady_timer poll(channel.get_executor());
        while (!loop_done && clock::now() < deadline) {
            poll.expires_after(std::chrono::milliseconds(20));
            co_await poll.async_wait(use_tuple);
        }
        if (!loop_done) {
            stopping = true;
            channel.close();
            attempt_timer.cancel();
            // connect() and run() end at once on a closed socket.
            while (!loop_done) {
                poll.expires_after(std::chrono::milliseconds(10));
                co_await poll.async_wait(use_tuple);
            }
        }
        const std::size_t lost = core.abandon();
        sync();
        if (lost > 0) {
            log.warn("loggregator drain incomplete: envelopes dropped",
                     {{"agent", agent}, {"queued_at_drain", queued}, {"dropped", lost}});
        } else {
            log.info("loggregator drained", {{"agent", agent}, {"flushed", queued}});
        }
        co_return lost == 0;
    }
};

emitter::emitter(asio::io_context& io, emitter_options options, core::memory_budget& budget,
                 core::logger& log, prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(io, std::move(options), budget, log, registry)) {}

emitter::~emitter() {
    stop();
}

void emitter::start() {
    impl_->running = true;
    asio::co_spawn(impl_->channel.get_executor(), impl_->connection_loop(), asio::detached);
    asio::co_spawn(impl_->channel.get_executor(), impl_->tick_loop(), asio::detached);
}

void emitter::emit_push(const push::push_binding& binding, const push::push_request& request,
                        std::int64_t wall_ms) {
    if (!impl_->options.push || request.metric_count == 0) {
        return;
    }
    // A full queue (the agent away or slower than the pushes) would drop every envelope of this
    // push: they are counted without being encoded, so that the push path pays nothing for them.
    if (!impl_->queue.has_room(min_push_envelope_bytes)) {
        impl_->queue.refuse(envelope_source::push, request.metric_count);
        return;
    }
    parcel p;
    append_push_envelopes(p, binding.app_guid, request, wall_ms,
                          impl_->options.counters == counter_style::counter
                              ? counter_envelope::counter
                              : counter_envelope::gauge);
    if (impl_->queue.push(std::move(p), clock::now())) {
        impl_->wake();
    }
}

void emitter::emit_bosh(const bosh::hm_event& event) {
    parcel p;
    if (const auto* heartbeat = std::get_if<bosh::hm_heartbeat>(&event)) {
        if (!impl_->options.bosh) {
            return;
        }
        append_heartbeat_envelope(p, *heartbeat, impl_->options.bosh_ip_tag);
    } else {
        if (!impl_->options.alerts) {
            return;
        }
        append_alert_envelope(p, std::get<bosh::hm_alert>(event), impl_->options.bosh_ip_tag);
    }
    if (impl_->queue.push(std::move(p), clock::now())) {
        impl_->wake();
    }
}

asio::awaitable<bool> emitter::drain(clock::time_point deadline) {
    return impl_->drain(deadline);
}

void emitter::stop() {
    impl_->stopping = true;
    impl_->running = false;
    impl_->channel.close();
    asio::dispatch(impl_->channel.get_executor(), [self = impl_] {
        self->attempt_timer.cancel();
        self->tick_timer.cancel();
    });
}

bool emitter::agent_up() const {
    return impl_->up.load(std::memory_order_relaxed);
}

emitter_status emitter::status() const {
    const impl& i = *impl_;
    emitter_status status;
    status.agent = i.agent;
    status.agent_up = i.up.load(std::memory_order_relaxed);
    status.push = i.options.push;
    status.bosh = i.options.bosh;
    status.alerts = i.options.alerts;
    status.queued_envelopes = i.queue.held_envelopes();
    status.queued_bytes = i.queue.held_bytes();
    // The registry's counters are atomics: readable from any thread, unlike the core's.
    for (const prometheus::Counter* sent : i.metrics.sent) {
        status.sent += static_cast<std::uint64_t>(sent->Value());
    }
    for (std::size_t r = 0; r < drop_reason_count; ++r) {
        const auto reason = static_cast<drop_reason>(r);
        std::uint64_t dropped = 0;
        for (std::size_t s = 0; s < source_count; ++s) {
            dropped += i.queue.dropped(static_cast<envelope_source>(s), reason);
        }
        status.dropped.emplace_back(std::string(to_string(reason)), dropped);
    }
    return status;
}

}  // namespace mgw::loggregator
