// BOSH module: fan-out of HM events to subscriptions, for every transport that streams them
// (HTTP now, gRPC too). Every subscription id gets every event; the consumers attached to one id
// form a queue group, as in NATS: each event goes to exactly one of them. Pure and thread-safe.
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
#include <string_view>
#include <vector>

#include <mgw/core/memory_budget.hpp>

namespace mgw::bosh {

// One event as HM wrote it (its JSON line without the newline), shared by every subscription
// that queued it, and, when the gRPC egress is on, the same event as a framed definitions.Event
// (encoded once, in publish). Its bytes, both encodings, are leased from the process budget for
// as long as any queue or stream holds it: the lease is given back when the last holder lets go.
struct distributed_event {
    std::string json;
    // Prefix and payload of one gRPC message; empty when the egress is off, or for a line the
    // original server would not have mapped (the gRPC streams skip it, the HTTP streams don't).
    std::string grpc;
    core::memory_lease memory;
};
using event_ptr = std::shared_ptr<const distributed_event>;

// Which encoding of its events a consumer sends: what pop's byte bound measures.
enum class event_encoding { json, grpc };

struct distributor_options {
    // Bounds of one subscription: the events waiting for its consumers, whatever their number
    // (bosh.queue_size, bosh.queue_bytes). The first bound reached drops. Bytes are those of
    // the JSON lines, as HM wrote them (bosh.queue_bytes is checked against max_line_bytes);
    // the gRPC encodings are in the events' memory leases.
    std::size_t queue_capacity = 1024;
    std::size_t queue_bytes = std::size_t{4} << 20;
    std::size_t max_subscriptions = 1024;
    std::size_t max_consumers_per_subscription = 64;
    std::chrono::steady_clock::duration idle_expiry = std::chrono::minutes(10);
    // The gRPC egress's encoding of a line (a framed definitions.Event, empty when the line
    // does not map), when the egress is on; unset: events carry no gRPC encoding.
    std::function<std::string(std::string_view)> encode_grpc = nullptr;
};

// Subscription ids are chosen by clients: at most this long, no control characters. The empty
// id is valid (the original gRPC server accepts a request without one).
inline constexpr std::size_t max_subscription_id_bytes = 256;
bool valid_subscription_id(std::string_view id);

enum class attach_error {
    invalid_id,              // see valid_subscription_id
    too_many_subscriptions,  // max_subscriptions exist and this id is new
    too_many_consumers,      // max_consumers_per_subscription are attached to this id
    closed,                  // the distributor is closed (drain)
};

std::string_view to_string(attach_error error);

// Why an event did not reach a subscription.
enum class drop_reason {
    queue_full,  // the subscription's queue_capacity or queue_bytes was reached
    memory,      // the process memory budget (limits.memory) refused the event's bytes
};

struct subscription_stats {
    std::string id;
    std::size_t consumers = 0;
    std::size_t queued = 0;
    std::size_t queued_bytes = 0;
    std::uint64_t delivered = 0;       // handed to a consumer by pop()
    std::uint64_t dropped_full = 0;    // lost to a full queue
    std::uint64_t dropped_memory = 0;  // lost to the memory budget
    std::uint64_t returned = 0;        // given back by a consumer that could not deliver them
};

class subscription_distributor {
  public:
    using clock = std::chrono::steady_clock;
    using consumer_id = std::uint64_t;
    // Called (under the distributor's lock, so it must only signal) when events wait for a
    // consumer that found its queue empty, or when the distributor closes.
    using wake_function = std::function<void()>;

    subscription_distributor(distributor_options options, core::memory_budget& memory);

    struct attach_result {
        std::optional<consumer_id> consumer;
        attach_error error = attach_error::closed;  // meaningful when !consumer
    };
    // Joins subscription `id` (created on first use). Events that waited while the
    // subscription had no consumer are handed to this one.
    attach_result attach(std::string_view id, wake_function wake, clock::time_point now);
    // Leaves. Events assigned to this consumer and not yet popped go to the other consumers
    // of its subscription, or wait for the next one; the subscription's idle clock starts when
    // its last consumer leaves.
    void detach(consumer_id consumer, clock::time_point now);

    struct pop_result {
        std::size_t count = 0;  // events appended to `out`
        bool closed = false;    // closed and this consumer's queue is empty: end the stream
    };
    // Moves the consumer's events to `out`: at most `max_events`, and no more than `max_bytes`
    // of the `measured` encoding unless the first event alone is larger. When there are none,
    // the consumer is marked waiting: its wake function is called once events arrive.
    pop_result pop(consumer_id consumer, std::vector<event_ptr>& out, std::size_t max_events,
                   std::size_t max_bytes = SIZE_MAX,
                   event_encoding measured = event_encoding::json);

    // Events popped by `consumer` that it could not deliver (its client went away mid-write):
    // back at the front of its queue, to go to another consumer of the group when it detaches.
    // What no longer fits the subscription's bounds is dropped (counted as queue_full).
    void give_back(consumer_id consumer, std::span<const event_ptr> events);

    // Offers each line to every subscription, in order, under one lock. A line is copied and
    // leased once, and only when some subscription has room for it; its gRPC encoding
    // (options.encode_grpc) is made before the lock is taken, and only while a subscription
    // exists. Returns the number of (line, subscription) deliveries queued.
    std::size_t publish(std::span<const std::string_view> lines);
    std::size_t publish(std::string_view line) { return publish(std::span(&line, 1)); }
    // Offers one line to subscription `id` only (cluster mode: the NATS queue group of the id
    // chose this node for it). Returns 1 when queued, 0 when the id has no subscription here
    // or the line was dropped (counted on the subscription as in publish).
    std::size_t publish_to(std::string_view id, std::string_view line);

    // Removes subscriptions without consumers for idle_expiry, so a late reconnect does not
    // replay stale events. Returns their final counts.
    std::vector<subscription_stats> expire_idle(clock::time_point now);

    // No more events: consumers drain what is queued for them, then see closed.
    void close();

    std::vector<subscription_stats> stats() const;
    std::size_t subscription_count() const;

  private:
    struct subscription;
    struct consumer {
        subscription* group = nullptr;
        wake_function wake;
        std::deque<event_ptr> queue;
        bool waiting = false;
    };
    struct subscription {
        std::string id;
        std::vector<consumer_id> consumers;  // in attach order
        std::size_t next = 0;                // where the round-robin among equals starts
        std::deque<event_ptr> backlog;       // while no consumer is attached
        std::size_t queued = 0;              // backlog and every consumer's queue
        std::size_t queued_bytes = 0;
        clock::time_point idle_since;
        std::uint64_t delivered = 0;
        std::uint64_t dropped_full = 0;
        std::uint64_t dropped_memory = 0;
        std::uint64_t returned = 0;
    };

    bool has_room(const subscription& s, std::size_t bytes) const;
    void enqueue(subscription& s, event_ptr event);
    void assign(subscription& s, event_ptr event, bool front);
    static subscription_stats stats_of(const subscription& s);

    distributor_options options_;
    core::memory_budget& memory_;
    mutable std::mutex mutex_;
    std::map<std::string, subscription, std::less<>> subscriptions_;
    std::map<consumer_id, consumer> consumers_;
    consumer_id next_consumer_ = 1;
    bool closed_ = false;
};

}  // namespace mgw::bosh
