// BOSH module: fan-out of events to subscriptions. One bounded queue per subscription id;
// consumers of the same id compete for its queue, every id gets every event. Pure and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mgw::bosh {

// One event as streamed: its JSON line without the newline, shared by every subscription.
using event_line = std::shared_ptr<const std::string>;

struct distributor_options {
    std::size_t queue_capacity = 1024;  // bosh.queue_size
    std::size_t max_subscriptions = 1024;
    std::chrono::steady_clock::duration idle_expiry = std::chrono::minutes(10);
};

struct subscription_stats {
    std::string id;
    std::size_t consumers = 0;
    std::size_t queued = 0;
    std::uint64_t delivered = 0;  // popped by a consumer
    std::uint64_t dropped = 0;    // lost to a full queue
};

class subscription_distributor {
  public:
    using clock = std::chrono::steady_clock;
    using consumer_id = std::uint64_t;
    // Called (under the distributor's lock, so it must only signal) when events wait for a
    // consumer that found its queue empty, or when the distributor closes.
    using wake_function = std::function<void()>;

    explicit subscription_distributor(distributor_options options);

    // Joins subscription `id` (created on first use). Nothing when max_subscriptions exist
    // already, or after close().
    std::optional<consumer_id> attach(const std::string& id, wake_function wake,
                                      clock::time_point now);
    // Leaves; the subscription's idle clock starts when its last consumer leaves. Events left in
    // its queue stay for the other consumers (one waiting consumer is woken for them).
    void detach(consumer_id consumer, clock::time_point now);

    struct pop_result {
        std::size_t count = 0;  // events appended to `out`
        bool closed = false;    // closed and this consumer's queue is empty: end the stream
    };
    // Moves up to `max` events of the consumer's subscription to `out`. When there are none,
    // the consumer is marked waiting: its wake function is called once events arrive.
    pop_result pop(consumer_id consumer, std::vector<event_line>& out, std::size_t max);

    // Offers the event to every subscription. Full queues drop it (counted per subscription).
    // Returns the number of subscriptions that queued it.
    std::size_t publish(const event_line& event);
    // The same for several events in order, under one lock and with one wake per subscription.
    void publish(std::span<const event_line> events);

    // Removes subscriptions without consumers for idle_expiry, so a late reconnect does not
    // replay stale events. Returns the ids removed.
    std::vector<std::string> expire_idle(clock::time_point now);

    // No more events: consumers drain what is queued, then see closed.
    void close();

    std::vector<subscription_stats> stats() const;
    std::size_t subscription_count() const;

  private:
    struct consumer {
        std::string subscription;
        wake_function wake;
        bool waiting = false;
    };
    struct subscription {
        std::deque<event_line> queue;
        std::vector<consumer_id> consumers;
        std::size_t next_wake = 0;  // round-robin among waiting consumers
        clock::time_point idle_since;
        std::uint64_t delivered = 0;
        std::uint64_t dropped = 0;
    };

    void wake_one(subscription& s);

    distributor_options options_;
    mutable std::mutex mutex_;
    std::map<std::string, subscription, std::less<>> subscriptions_;
    std::map<consumer_id, consumer> consumers_;
    consumer_id next_consumer_ = 1;
    bool closed_ = false;
};

}  // namespace mgw::bosh
