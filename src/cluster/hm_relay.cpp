// The NATS shell of the cluster's HM event distribution: publishing on ingest, and a periodic
// reconcile on the NATS strand that turns hm_subscription_plan's actions into queue
// subscriptions whose messages go to one local subscription each.
#include <map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/cluster/hm_relay.hpp>

#include "hm_plan.hpp"

namespace mgw::cluster {

namespace asio = boost::asio;

struct hm_relay::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor s, hm_relay_options o, nats::client& n,
         bosh::subscription_distributor& d, core::logger& l, prometheus::Registry& r)
        : strand(std::move(s)),
          options(std::move(o)),
          subject(hm_event_subject(options.cluster_name)),
          nats(n),
          distributor(d),
          log(l),
          timer(strand),
          published(prometheus::BuildCounter()
                        .Name("mgw_cluster_hm_events_published_total")
                        .Help("HM events this node ingested and published to the cluster.")
                        .Register(r)
                        .Add({})),
          received(prometheus::BuildCounter()
                       .Name("mgw_cluster_hm_events_received_total")
                       .Help("HM events the cluster handed to one of this node's "
                             "subscriptions (its queue group chose this node).")
                       .Register(r)
                       .Add({})),
          dropped(prometheus::BuildCounter()
                      .Name("mgw_cluster_hm_events_dropped_total")
                      .Help("HM events from the cluster not queued here, by reason "
                            "(bad_message, not_queued).")
                      .Register(r)),
          bad_message(dropped.Add({{"reason", "bad_message"}})),
          not_queued(dropped.Add({{"reason", "not_queued"}})),
          local(prometheus::BuildCounter()
                    .Name("mgw_cluster_hm_events_local_total")
                    .Help("Ingested HM events given to this node's subscriptions only, by "
                          "reason (nats_down, too_large, publish_failed).")
                    .Register(r)),
          local_down(local.Add({{"reason", "nats_down"}})),
          local_too_large(local.Add({{"reason", "too_large"}})),
          local_failed(local.Add({{"reason", "publish_failed"}})),
          held_gauge(prometheus::BuildGauge()
                         .Name("mgw_cluster_hm_queue_subscriptions")
                         .Help("Subscription ids with local clients this node holds a NATS "
                               "queue subscription for.")
                         .Register(r)
                         .Add({})) {}

    void distribute(std::span<const std::string_view> lines) {
        const std::int64_t max_payload = nats.max_payload();
        if (max_payload <= 0) {
            distributor.publish(lines);
            local_down.Increment(static_cast<double>(lines.size()));
            return;
        }
        for (const std::string_view line : lines) {
            if (static_cast<std::int64_t>(line.size()) > max_payload) {
                distributor.publish(line);
                local_too_large.Increment();
            } else if (!nats.publish(subject, line)) {
                distributor.publish(line);
                local_failed.Increment();
            } else {
                published.Increment();
            }
        }
    }

    // Strand only.
    void reconcile() {
        if (stopped) {
            return;
        }
        std::set<std::string, std::less<>> wanted;
        for (const bosh::subscription_stats& s : distributor.stats()) {
            if (s.consumers > 0) {
                wanted.insert(s.id);
            }
        }
        apply(plan.step(wanted));
        held_gauge.Set(static_cast<double>(subscriptions.size()));
    }

    void apply(const std::vector<hm_action>& actions) {
        for (const hm_action& action : actions) {
            if (action.what == hm_action::kind::unsubscribe) {
                if (const auto it = subscriptions.find(action.id); it != subscriptions.end()) {
                    nats.unsubscribe(it->second);
                    subscriptions.erase(it);
                }
                log.info("cluster hm queue left", {{"subscription_id", action.id}});
                continue;
            }
            const auto sub =
                nats.queue_subscribe(subject, hm_queue(action.id),
                                     [self = shared_from_this(), id = action.id](nats::message m) {
                                         self->on_message(id, m);
                                     });
            if (sub == 0) {
                plan.failed(action.id);  // tried again on the next reconcile
                continue;
            }
            subscriptions[action.id] = sub;
            log.info("cluster hm queue joined",
                     {{"subscription_id", action.id}, {"queue", hm_queue(action.id)}});
        }
    }

    void on_message(const std::string& id, const nats::message& m) {
        if (m.data.empty()) {
            bad_message.Increment();
            nats.count_bad_message();
            return;
        }
        received.Increment();
        if (distributor.publish_to(id, m.data) == 0) {
            not_queued.Increment();
        }
    }

    void schedule() {
        timer.expires_after(options.reconcile_interval);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped) {
                return;
            }
            self->reconcile();
            self->schedule();
        });
    }

    void stop_on_strand() {
        stopped = true;
        timer.cancel();
        for (const auto& [id, sub] : subscriptions) {
            nats.unsubscribe(sub);
        }
        subscriptions.clear();
        held_gauge.Set(0);
    }

    asio::any_io_executor strand;
    hm_relay_options options;
    std::string subject;
    nats::client& nats;
    bosh::subscription_distributor& distributor;
    core::logger& log;
    asio::steady_timer timer;
    prometheus::Counter& published;
    prometheus::Counter& received;
    prometheus::Family<prometheus::Counter>& dropped;
    prometheus::Counter& bad_message;
    prometheus::Counter& not_queued;
    prometheus::Family<prometheus::Counter>& local;
    prometheus::Counter& local_down;
    prometheus::Counter& local_too_large;
    prometheus::Counter& local_failed;
    prometheus::Gauge& held_gauge;

    // Strand only.
    hm_subscription_plan plan;
    std::map<std::string, nats::client::subscription_id, std::less<>> subscriptions;
    bool stopped = false;
};

hm_relay::hm_relay(asio::any_io_executor strand, hm_relay_options options, nats::client& nats,
                   bosh::subscription_distributor& distributor, core::logger& log,
                   prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(std::move(strand), std::move(options), nats, distributor, log,
                                   registry)) {}

hm_relay::~hm_relay() = default;

void hm_relay::distribute(std::span<const std::string_view> lines) {
    impl_->distribute(lines);
}

void hm_relay::start() {
    asio::post(impl_->strand, [self = impl_] {
        self->reconcile();
        self->schedule();
    });
}

void hm_relay::stop() {
    asio::post(impl_->strand, [self = impl_] { self->stop_on_strand(); });
}

}  // namespace mgw::cluster
