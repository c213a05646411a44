// The distributor keeps no thread of its own: publish() runs on the ingest connection's strand,
// pop() on each stream's, both under one mutex held for a few pointer moves.
//
// Within a group an event is assigned when it is published, to the consumer with the fewest
// events waiting (ties taken in turn). A consumer whose client stopped reading therefore stops
// being chosen once it is behind, the others keep the group's events flowing, and two healthy
// consumers split the events evenly however the threads that run them are scheduled. (The
// original server let its consumers race for one channel: whichever was scheduled first took
// everything it could.) What a consumer held when it leaves goes to the rest of its group.
#include <algorithm>

#include <mgw/bosh/subscription_distributor.hpp>

namespace mgw::bosh {

namespace {

// What one queued event costs beyond its encodings: the shared control block and the struct.
constexpr std::size_t event_overhead = sizeof(distributed_event) + 32;

}  // namespace

bool valid_subscription_id(std::string_view id) {
    if (id.size() > max_subscription_id_bytes) {
        return false;
    }
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

std::string_view to_string(attach_error error) {
    switch (error) {
        case attach_error::invalid_id:
            return "invalid_id";
        case attach_error::too_many_subscriptions:
            return "too_many_subscriptions";
        case attach_error::too_many_consumers:
            return "too_many_consumers";
        case attach_error::closed:
            return "closed";
    }
    return "unknown";
}

subscription_distributor::subscription_distributor(distributor_options options,
                                                   core::memory_budget& memory)
    : options_(options), memory_(memory) {}

subscription_distributor::attach_result subscription_distributor::attach(std::string_view id,
                                                                         wake_function wake,
                                                                         clock::time_point now) {
    if (!valid_subscription_id(id)) {
        return {std::nullopt, attach_error::invalid_id};
    }
    const std::lock_guard lock(mutex_);
    if (closed_) {
        return {std::nullopt, attach_error::closed};
    }
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) {
        if (subscriptions_.size() >= options_.max_subscriptions) {
            return {std::nullopt, attach_error::too_many_subscriptions};
        }
        it = subscriptions_.emplace(std::string(id), subscription{}).first;
        it->second.id = std::string(id);
        it->second.idle_since = now;
    }
    subscription& s = it->second;
    if (s.consumers.size() >= options_.max_consumers_per_subscription) {
        return {std::nullopt, attach_error::too_many_consumers};
    }
    const consumer_id cid = next_consumer_++;
    consumer& c = consumers_.emplace(cid, consumer{&s, std::move(wake), {}, false}).first->second;
    c.queue.swap(s.backlog);  // what waited for the group is this consumer's now
    s.consumers.push_back(cid);
    attach_result attached;
    attached.consumer = cid;
    return attached;
}

void subscription_distributor::detach(consumer_id cid, clock::time_point now) {
    const std::lock_guard lock(mutex_);
    const auto c = consumers_.find(cid);
    if (c == consumers_.end()) {
        return;
    }
    subscription& s = *c->second.group;
    std::deque<event_ptr> left = std::move(c->second.queue);
    consumers_.erase(c);
    auto& list = s.consumers;
    list.erase(std::remove(list.begin(), list.end(), cid), list.end());
    if (list.empty()) {
        s.idle_since = now;
    }
    for (event_ptr& e : left) {
        assign(s, std::move(e), false);
    }
}

bool subscription_distributor::has_room(const subscription& s, std::size_t bytes) const {
    return s.queued < options_.queue_capacity && bytes <= options_.queue_bytes &&
           s.queued_bytes <= options_.queue_bytes - bytes;
}

void subscription_distributor::enqueue(subscription& s, event_ptr event) {
    ++s.queued;
    s.queued_bytes += event->json.size();
    assign(s, std::move(event), false);
}

// Join-the-shortest-queue, ties broken round-robin from `next`. Without consumers the event
// waits in the backlog for the next one to attach.
void subscription_distributor::assign(subscription& s, event_ptr event, bool front) {
    if (s.consumers.empty()) {
        if (front) {
            s.backlog.push_front(std::move(event));
        } else {
            s.backlog.push_back(std::move(event));
        }
        return;
    }
    const std::size_t n = s.consumers.size();
    consumer* chosen = nullptr;
    std::size_t chosen_at = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = (s.next + i) % n;
        consumer& candidate = consumers_.at(s.consumers[at]);
        if (chosen == nullptr || candidate.queue.size() < chosen->queue.size()) {
            chosen = &candidate;
            chosen_at = at;
        }
    }
    s.next = (chosen_at + 1) % n;
    if (front) {
        chosen->queue.push_front(std::move(event));
    } else {
        chosen->queue.push_back(std::move(event));
    }
    if (chosen->waiting) {
        chosen->waiting = false;
        chosen->wake();
    }
}

subscription_distributor::pop_result subscription_distributor::pop(consumer_id cid,
                                                                   std::vector<event_ptr>& out,
                                                                   std::size_t max_events,
                                                                   std::size_t max_bytes,
                                                                   event_encoding measured) {
    const std::lock_guard lock(mutex_);
    const auto it = consumers_.find(cid);
    if (it == consumers_.end()) {
        return {0, true};
    }
    consumer& c = it->second;
    subscription& s = *c.group;
    std::size_t count = 0;
    std::size_t bytes = 0;  // of the measured encoding
    std::size_t json_bytes = 0;
    while (count < max_events && !c.queue.empty()) {
        const distributed_event& e = *c.queue.front();
        const std::size_t size = measured == event_encoding::grpc ? e.grpc.size() : e.json.size();
        if (count > 0 && size > max_bytes - std::min(bytes, max_bytes)) {
            break;
        }
        bytes += size;
        json_bytes += e.json.size();
        out.push_back(std::move(c.queue.front()));
        c.queue.pop_front();
        ++count;
    }
    s.queued -= count;
    s.queued_bytes -= json_bytes;
    s.delivered += count;
    if (count == 0) {
        c.waiting = true;
        return {0, closed_};
    }
    c.waiting = false;
    return {count, false};
}

void subscription_distributor::give_back(consumer_id cid, std::span<const event_ptr> events) {
    const std::lock_guard lock(mutex_);
    const auto it = consumers_.find(cid);
    if (it == consumers_.end()) {
        return;
    }
    consumer& c = it->second;
    subscription& s = *c.group;
    // In reverse onto the front, so that they leave again in the order they were popped.
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
        if (closed_ || !has_room(s, (*e)->json.size())) {
            ++s.dropped_full;
            continue;
        }
        ++s.queued;
        s.queued_bytes += (*e)->json.size();
        ++s.returned;
        c.queue.push_front(*e);
    }
}

std::size_t subscription_distributor::publish(std::span<const std::string_view> lines) {
    // The gRPC encoding parses the JSON: the costly part of publishing, so it is done before
    // the lock that every stream's pop() waits for. Skipped while nobody is subscribed; a
    // subscription created in between gets lines encoded under the lock instead.
    std::vector<std::string> encoded;
    if (options_.encode_grpc && subscription_count() > 0) {
        encoded.reserve(lines.size());
        for (const std::string_view line : lines) {
            encoded.push_back(options_.encode_grpc(line));
        }
    }
    const std::lock_guard lock(mutex_);
    if (closed_) {
        return 0;
    }
    std::size_t queued = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        event_ptr event;
        bool refused = false;
        for (auto& [id, s] : subscriptions_) {
            if (!has_room(s, line.size())) {
                ++s.dropped_full;
                continue;
            }
            if (!event && !refused) {
                std::string grpc;
                if (i < encoded.size()) {
                    grpc = std::move(encoded[i]);
                } else if (options_.encode_grpc) {
                    grpc = options_.encode_grpc(line);
                }
                auto lease = memory_.try_lease(core::memory_use::bosh_queues,
                                               line.size() + grpc.size() + event_overhead);
                if (lease) {
                    event = std::make_shared<distributed_event>(
                        distributed_event{std::string(line), std::move(grpc), std::move(*lease)});
                } else {
                    refused = true;
                }
            }
            if (refused) {
                ++s.dropped_memory;
                continue;
            }
            enqueue(s, event);
            ++queued;
        }
    }
    return queued;
}

std::size_t subscription_distributor::publish_to(std::string_view id, std::string_view line) {
    std::string grpc = options_.encode_grpc ? options_.encode_grpc(line) : std::string();
    const std::lock_guard lock(mutex_);
    const auto it = subscriptions_.find(id);
    if (closed_ || it == subscriptions_.end()) {
        return 0;
    }
    subscription& s = it->second;
    if (!has_room(s, line.size())) {
        ++s.dropped_full;
        return 0;
    }
    auto lease = memory_.try_lease(core::memory_use::bosh_queues,
                                   line.size() + grpc.size() + event_overhead);
    if (!lease) {
        ++s.dropped_memory;
        return 0;
    }
    enqueue(s, std::make_shared<distributed_event>(
                   distributed_event{std::string(line), std::move(grpc), std::move(*lease)}));
    return 1;
}

subscription_stats subscription_distributor::stats_of(const subscription& s) {
    return {s.id,        s.consumers.size(), s.queued,         s.queued_bytes,
            s.delivered, s.dropped_full,     s.dropped_memory, s.returned};
}

std::vector<subscription_stats> subscription_distributor::expire_idle(clock::time_point now) {
    const std::lock_guard lock(mutex_);
    std::vector<subscription_stats> removed;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
        if (it->second.consumers.empty() && now - it->second.idle_since >= options_.idle_expiry) {
            removed.push_back(stats_of(it->second));
            it = subscriptions_.erase(it);
        } else {
            ++it;
        }
    }
    return removed;
}

void subscription_distributor::close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [id, s] : subscriptions_) {
        // Nobody is attached to take these: give their memory back now.
        for (const event_ptr& e : s.backlog) {
            --s.queued;
            s.queued_bytes -= e->json.size();
        }
        s.backlog.clear();
    }
    for (auto& [cid, c] : consumers_) {
        if (c.waiting) {
            c.waiting = false;
            c.wake();
        }
    }
}

std::vector<subscription_stats> subscription_distributor::stats() const {
    const std::lock_guard lock(mutex_);
    std::vector<subscription_stats> out;
    out.reserve(subscriptions_.size());
    for (const auto& [id, s] : subscriptions_) {
        out.push_back(stats_of(s));
    }
    return out;
}

std::size_t subscription_distributor::subscription_count() const {
    const std::lock_guard lock(mutex_);
    return subscriptions_.size();
}

}  // namespace mgw::bosh
