// RSocket module: who gets which RSA key pair, as a pure state machine (no threads, no clock of
// its own) under the key pool. It exists so that a reconnect storm is keyed in seconds and a flood
// of connects from one address cannot starve everyone else of keys.
//
// A connection gets a fresh key pair from a stock made ahead; when the stock is empty it waits
// for the next key pair made. Each new key pair goes to the waiters first (the stock only gets
// what nobody waits for), round robin by the waiters' addresses and oldest first within one, so
// every address with a waiter is served within one hand-out per waiting address. A key pair goes
// to one waiter, unless more connections wait than the generators could key one by one within
// `wait_target` at the rate they are making key pairs (a reconnect storm, a flood): then it is
// shared by just enough of them to clear the queue by then, at most `max_shares`, all handed it
// at the same instant and nobody after. A waiter whose peer left is cancelled and takes no key.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mgw::rsocket {

struct key_schedule_options {
    // Key pairs kept ready ahead of demand.
    std::size_t stock = 4;
    // Connections one key pair is handed to at most (1: a key pair per connection, always).
    std::size_t max_shares = 64;
    // Key pairs are shared only when the waiters could not all be keyed one by one within this
    // time (0: share up to max_shares whenever more connections wait than there are generators).
    std::chrono::steady_clock::duration wait_target = std::chrono::milliseconds(500);
    // Key pairs made at once (the key pool's workers).
    std::size_t generators = 1;
    // Requests waiting at once; past it a request is refused.
    std::size_t max_waiting = 10000;
};

enum class key_grant : std::uint8_t {
    fresh,    // from the stock: a key pair nobody else is given
    queued,   // wait for the next key pair made
    refused,  // max_waiting requests are already waiting
};

inline std::string_view to_string(key_grant grant) {
    switch (grant) {
        case key_grant::fresh:
            return "fresh";
        case key_grant::queued:
            return "queued";
        case key_grant::refused:
            return "refused";
    }
    return "unknown";
}

// `Key` is copied to every connection it is handed to (a handle); `Waiter` is what a queued
// request hands back with its key (the key pool's delivery function; an id in the tests).
template <class Key, class Waiter>
class key_schedule {
  public:
    using clock = std::chrono::steady_clock;
    using ticket = std::uint64_t;

    struct answer {
        key_grant grant = key_grant::refused;
        std::optional<Key> key;  // fresh
        ticket id = 0;           // queued: what cancel() takes
    };
    struct handout {
        Waiter waiter;
        Key key;
        clock::duration waited;
    };

    explicit key_schedule(key_schedule_options options) : options_(options) {
        options_.max_shares = std::max<std::size_t>(options_.max_shares, 1);
        options_.generators = std::max<std::size_t>(options_.generators, 1);
    }

    // A connection from `address` (the fairness unit: the key pool passes an IPv4 address or an
    // IPv6 /64) asks for a key. `waiter` is kept only when the answer is `queued`.
    answer request(std::string_view address, Waiter waiter, clock::time_point now) {
        if (!stock_.empty()) {
            Key key = std::move(stock_.front());
            stock_.pop_front();
            return {.grant = key_grant::fresh, .key = std::move(key), .id = 0};
        }
        if (waiting_.size() >= options_.max_waiting) {
            return {.grant = key_grant::refused, .key = std::nullopt, .id = 0};
        }
        const ticket id = next_ticket_++;
        auto [entry, inserted] = waiting_.emplace(
            id, waiter_entry{
                    .address = std::string(address), .waiter = std::move(waiter), .since = now});
        addresses_[entry->second.address].insert(id);
        return {.grant = key_grant::queued, .key = std::nullopt, .id = id};
    }

    // The peer of a queued request left: it takes no key. False when it is not waiting (served
    // already, or cancelled twice).
    bool cancel(ticket id) {
        const auto found = waiting_.find(id);
        if (found == waiting_.end()) {
            return false;
        }
        forget(found);
        return true;
    }

    // Whether one more key pair should be made now: the stock is short, or the waiters need more
    // key pairs than are being made. True counts one generation in flight: the caller makes a
    // key pair and reports it with key_made or generation_failed.
    bool begin_generation() {
        const std::size_t shares = shares_per_key();
        const std::size_t for_waiters = (waiting_.size() + shares - 1) / shares;
        if (stock_.size() + generating_ >= options_.stock + for_waiters) {
            return false;
        }
        ++generating_;
        return true;
    }

    // A key pair was made, which took `took`: it goes to the waiters (shares_per_key of them,
    // round robin by address), or to the stock when nobody waits (dropped when it is full).
    std::vector<handout> key_made(Key key, clock::time_point now, clock::duration took) {
        generating_ -= generating_ > 0 ? 1 : 0;
        // Generation times vary several-fold from key to key: smooth them.
        generation_time_ =
            generation_time_ == clock::duration::zero() ? took : (generation_time_ * 3 + took) / 4;
        std::vector<handout> out;
        if (waiting_.empty()) {
            if (stock_.size() < options_.stock) {
                stock_.push_back(std::move(key));
            } else {
                ++discarded_;
            }
            return out;
        }
        const std::size_t shares = shares_per_key();
        while (!waiting_.empty() && out.size() < shares) {
            auto next = addresses_.upper_bound(cursor_);
            if (next == addresses_.end()) {
                next = addresses_.begin();
            }
            cursor_ = next->first;
            const auto found = waiting_.find(*next->second.begin());
            out.push_back({.waiter = std::move(found->second.waiter),
                           .key = key,
                           .waited = now - found->second.since});
            forget(found);
        }
        return out;
    }

    // How many of the connections waiting now one key pair goes to: 1 while no more wait than
    // the generators make at once or they can key them one by one within wait_target, else as
    // many as clears the queue by then.
    std::size_t shares_per_key() const {
        const std::size_t waiting = waiting_.size();
        if (waiting <= options_.generators || options_.max_shares == 1) {
            // Each can have one of the key pairs being made at once.
            return 1;
        }
        if (options_.wait_target <= clock::duration::zero()) {
            return options_.max_shares;
        }
        if (generation_time_ <= clock::duration::zero()) {
            // Nothing measured yet: ask for a key pair each (key_made decides with a measure).
            return 1;
        }
        // Key pairs the generators make within wait_target, at the rate measured so far.
        const double per_target = std::chrono::duration<double>(options_.wait_target).count() /
                                  std::chrono::duration<double>(generation_time_).count();
        const double keys = std::max(1.0, per_target * static_cast<double>(options_.generators));
        const double shares = std::ceil(static_cast<double>(waiting) / keys);
        return std::clamp<std::size_t>(static_cast<std::size_t>(shares), 1, options_.max_shares);
    }

    void generation_failed() { generating_ -= generating_ > 0 ? 1 : 0; }

    std::size_t waiting() const { return waiting_.size(); }
    std::size_t stock() const { return stock_.size(); }
    std::size_t generating() const { return generating_; }
    // Key pairs made while nobody waited and the stock was full (waiters cancelled meanwhile).
    std::size_t discarded() const { return discarded_; }
    const key_schedule_options& options() const { return options_; }

  private:
    struct waiter_entry {
        std::string address;
        Waiter waiter;
        clock::time_point since;
    };
    using waiting_map = std::map<ticket, waiter_entry>;

    void forget(typename waiting_map::iterator entry) {
        const auto queue = addresses_.find(entry->second.address);
        queue->second.erase(entry->first);
        if (queue->second.empty()) {
            addresses_.erase(queue);
        }
        waiting_.erase(entry);
    }

    key_schedule_options options_;
    std::deque<Key> stock_;
    clock::duration generation_time_{};  // smoothed, of the key pairs made so far
    std::size_t generating_ = 0;
    std::size_t discarded_ = 0;
    ticket next_ticket_ = 1;
    waiting_map waiting_;
    // Tickets grow, so each address's set is its queue in arrival order.
    std::map<std::string, std::set<ticket>, std::less<>> addresses_;
    std::string cursor_;  // the address served last: the next hand-out goes to the one after it
};

}  // namespace mgw::rsocket
