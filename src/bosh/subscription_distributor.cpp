// The distributor keeps no thread of its own: publish() runs on the ingest connection's strand,
// pop() on each stream's, both under one mutex held for a few pointer moves.
#include <algorithm>

#include <mgw/bosh/subscription_distributor.hpp>

namespace mgw::bosh {

subscription_distributor::subscription_distributor(distributor_options options)
    : options_(options) {}

std::optional<subscription_distributor::consumer_id> subscription_distributor::attach(
    const std::string& id, wake_function wake, clock::time_point now) {
    const std::lock_guard lock(mutex_);
    if (closed_) {
        return std::nullopt;
    }
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) {
        if (subscriptions_.size() >= options_.max_subscriptions) {
            return std::nullopt;
        }
        it = subscriptions_.emplace(id, subscription{}).first;
        it->second.idle_since = now;
    }
    const consumer_id cid = next_consumer_++;
    consumers_.emplace(cid, consumer{id, std::move(wake), false});
    it->second.consumers.push_back(cid);
    return cid;
}

void subscription_distributor::detach(consumer_id cid, clock::time_point now) {
    const std::lock_guard lock(mutex_);
    const auto c = consumers_.find(cid);
    if (c == consumers_.end()) {
        return;
    }
    const auto s = subscriptions_.find(c->second.subscription);
    consumers_.erase(c);
    if (s == subscriptions_.end()) {
        return;
    }
    auto& list = s->second.consumers;
    list.erase(std::remove(list.begin(), list.end(), cid), list.end());
    if (list.empty()) {
        s->second.idle_since = now;
    } else if (!s->second.queue.empty()) {
        wake_one(s->second);
    }
}

subscription_distributor::pop_result subscription_distributor::pop(consumer_id cid,
                                                                   std::vector<event_line>& out,
                                                                   std::size_t max) {
    const std::lock_guard lock(mutex_);
    const auto c = consumers_.find(cid);
    if (c == consumers_.end()) {
        return {0, true};
    }
    const auto s = subscriptions_.find(c->second.subscription);
    if (s == subscriptions_.end()) {
        return {0, true};
    }
    auto& queue = s->second.queue;
    const std::size_t n = std::min(max, queue.size());
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(std::move(queue.front()));
        queue.pop_front();
    }
    s->second.delivered += n;
    if (n == 0) {
        c->second.waiting = true;
        return {0, closed_};
    }
    c->second.waiting = false;
    // Events are left over: another consumer of the same id may take them meanwhile.
    if (!queue.empty()) {
        wake_one(s->second);
    }
    return {n, false};
}

void subscription_distributor::wake_one(subscription& s) {
    const std::size_t n = s.consumers.size();
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = (s.next_wake + i) % n;
        consumer& c = consumers_.at(s.consumers[at]);
        if (c.waiting) {
            c.waiting = false;
            s.next_wake = at + 1;
            c.wake();
            return;
        }
    }
}

std::size_t subscription_distributor::publish(const event_line& event) {
    const std::lock_guard lock(mutex_);
    if (closed_) {
        return 0;
    }
    std::size_t queued = 0;
    for (auto& [id, s] : subscriptions_) {
        if (s.queue.size() >= options_.queue_capacity) {
            ++s.dropped;
            continue;
        }
        s.queue.push_back(event);
        ++queued;
        wake_one(s);
    }
    return queued;
}

void subscription_distributor::publish(std::span<const event_line> events) {
    const std::lock_guard lock(mutex_);
    if (closed_ || events.empty()) {
        return;
    }
    for (auto& [id, s] : subscriptions_) {
        const std::size_t room =
            options_.queue_capacity - std::min(options_.queue_capacity, s.queue.size());
        const std::size_t n = std::min(room, events.size());
        s.queue.insert(s.queue.end(), events.begin(),
                       events.begin() + static_cast<std::ptrdiff_t>(n));
        s.dropped += events.size() - n;
        if (n > 0) {
            wake_one(s);
        }
    }
}

std::vector<std::string> subscription_distributor::expire_idle(clock::time_point now) {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> removed;
    for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
        if (it->second.consumers.empty() && now - it->second.idle_since >= options_.idle_expiry) {
            removed.push_back(it->first);
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
        out.push_back({id, s.consumers.size(), s.queue.size(), s.delivered, s.dropped});
    }
    return out;
}

std::size_t subscription_distributor::subscription_count() const {
    const std::lock_guard lock(mutex_);
    return subscriptions_.size();
}

}  // namespace mgw::bosh
