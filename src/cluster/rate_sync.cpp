// The rate-limit sync shell: a timer on its own strand collects the local counts, publishes what
// changed, and NATS messages are merged into the peers' table under a mutex (the limiter reads
// it from request threads).
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/cluster/rate_sync.hpp>

#include "rate_share.hpp"

namespace mgw::cluster {

namespace asio = boost::asio;

namespace {

// Room kept below the server's max_payload.
constexpr std::int64_t payload_room = 1024;
constexpr std::chrono::seconds full_state_every{1};

}  // namespace

struct rate_sync::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, const cluster_config& config, std::string node_id,
         std::string boot_id, std::chrono::seconds w, local_rate_use l, nats::client& n,
         core::logger& lg, prometheus::Registry& r)
        : strand(asio::make_strand(io)),
          node(std::move(node_id)),
          boot(std::move(boot_id)),
          subject(fmt::format("mgw.{}.rl", config.name)),
          sync(config.rate_limit.sync),
          window(w),
          local(std::move(l)),
          nats(n),
          log(lg),
          table(node, boot),
          timer(strand),
          messages(prometheus::BuildCounter()
                       .Name("mgw_cluster_rate_sync_messages_total")
                       .Help("Rate-count messages sent to and received from peers")
                       .Register(r)),
          skipped(prometheus::BuildCounter()
                      .Name("mgw_cluster_rate_sync_skipped_total")
                      .Help("Rate-count publications not sent (admission then counts locally "
                            "what it has not heard), by reason")
                      .Register(r)),
          bad(prometheus::BuildCounter()
                  .Name("mgw_cluster_rate_sync_bad_messages_total")
                  .Help("Rate-count messages that did not decode")
                  .Register(r)
                  .Add({})),
          held(prometheus::BuildGauge()
                   .Name("mgw_cluster_rate_sync_peer_counts")
                   .Help("Peers' (node, boot, binding, window) rate counts held")
                   .Register(r)
                   .Add({})),
          sent(messages.Add({{"direction", "sent"}})),
          received(messages.Add({{"direction", "received"}})) {
        for (const char* reason : {"nats_down", "publish_failed", "too_large"}) {
            skipped.Add({{"reason", reason}});
        }
    }

    std::int64_t window_start_ms(push::rate_limiter::clock::time_point now) const {
        const std::int64_t seconds =
            std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
        return seconds / window.count() * window.count() * 1000;
    }

    void on_message(const nats::message& m) {
        auto report = decode_rate_report(m.data);
        if (!report) {
            bad.Increment();
            return;
        }
        received.Increment();
        const std::int64_t current = window_start_ms(push::rate_limiter::clock::now());
        const std::scoped_lock lock(mutex);
        table.merge(*report, current);
    }

    void tick() {
        const auto now = push::rate_limiter::clock::now();
        const std::int64_t current = window_start_ms(now);
        {
            const std::scoped_lock lock(mutex);
            table.expire(current);
            held.Set(static_cast<double>(table.size()));
        }
        std::vector<rate_count> counts;
        for (const push::window_use& use : local()) {
            counts.push_back({.binding = use.binding_id,
                              .window_start_ms = use.window_start_ms,
                              .requests = use.requests,
                              .metrics = use.metrics});
        }
        const auto steady = std::chrono::steady_clock::now();
        const bool full = steady >= next_full;
        std::vector<rate_count> send = full ? counts : changed_counts(published, counts);
        if (send.empty()) {
            if (full) {
                next_full = steady + full_state_every;
            }
            return;
        }
        if (!nats.connected()) {
            skipped.Add({{"reason", "nats_down"}}).Increment();
            return;  // `published` unchanged: what was not sent goes with the next tick
        }
        const std::int64_t max_payload = nats.max_payload();
        const std::size_t limit =
            static_cast<std::size_t>(std::max<std::int64_t>(max_payload - payload_room, 1024));
        std::size_t too_large = 0;
        bool all_sent = true;
        for (const std::string& message :
             encode_rate_reports(node, boot, send, limit, &too_large)) {
            if (nats.publish(subject, message)) {
                sent.Increment();
            } else {
                all_sent = false;
                skipped.Add({{"reason", "publish_failed"}}).Increment();
            }
        }
        if (too_large > 0) {
            skipped.Add({{"reason", "too_large"}}).Increment(static_cast<double>(too_large));
        }
        if (all_sent) {
            published = std::move(counts);
            if (full) {
                next_full = steady + full_state_every;
            }
        }
    }

    static asio::awaitable<void> run(std::shared_ptr<impl> self) {
        while (!self->stopped) {
            self->tick();
            self->timer.expires_after(self->sync);
            co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    asio::strand<asio::io_context::executor_type> strand;
    std::string node;
    std::string boot;
    std::string subject;
    std::chrono::milliseconds sync;
    std::chrono::seconds window;
    local_rate_use local;
    nats::client& nats;
    core::logger& log;

    mutable std::mutex mutex;  // guards table (request threads read it)
    rate_table table;

    // On the strand only.
    asio::steady_timer timer;
    std::vector<rate_count> published;
    std::chrono::steady_clock::time_point next_full{};
    bool stopped = false;

    prometheus::Family<prometheus::Counter>& messages;
    prometheus::Family<prometheus::Counter>& skipped;
    prometheus::Counter& bad;
    prometheus::Gauge& held;
    prometheus::Counter& sent;
    prometheus::Counter& received;
};

rate_sync::rate_sync(asio::io_context& io, const cluster_config& config, std::string node_id,
                     std::string boot_id, std::chrono::seconds window, local_rate_use local,
                     nats::client& nats, core::logger& log, prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(io, config, std::move(node_id), std::move(boot_id), window,
                                   std::move(local), nats, log, registry)) {
    nats.subscribe(impl_->subject, [weak = std::weak_ptr<impl>(impl_)](nats::message m) {
        if (auto self = weak.lock()) {
            self->on_message(m);
        }
    });
}

rate_sync::~rate_sync() = default;

void rate_sync::start() {
    impl_->log.info("cluster: rate limits shared",
                    {{"subject", impl_->subject},
                     {"sync_ms", static_cast<std::int64_t>(impl_->sync.count())},
                     {"window_s", static_cast<std::int64_t>(impl_->window.count())}});
    asio::co_spawn(impl_->strand, impl::run(impl_), asio::detached);
}

void rate_sync::stop() {
    asio::post(impl_->strand, [self = impl_] {
        self->stopped = true;
        self->timer.cancel();
    });
}

push::peer_use rate_sync::peers(std::string_view binding_id, std::int64_t window_start_ms) const {
    const std::scoped_lock lock(impl_->mutex);
    return impl_->table.sum(binding_id, window_start_ms);
}

}  // namespace mgw::cluster
