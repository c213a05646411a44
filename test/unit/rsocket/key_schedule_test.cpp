// Unit tests: who gets which key pair (key_schedule, integers for keys and waiters, the clock
// passed in) and the key pool's threads around it (small real RSA keys, no sockets): fresh keys
// from the stock, waiters before the stock, a key pair per connection unless the queue is longer
// than the generators can key one by one within the wait target, sharing bounded in count,
// round robin by address, cancellation, the bound on waiters, what is asked of the generators.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <prometheus/registry.h>

#include <mgw/rsocket/key_pool.hpp>
#include <mgw/rsocket/key_schedule.hpp>

using namespace mgw::rsocket;
using namespace std::chrono_literals;

namespace {

using schedule = key_schedule<int, int>;  // keys and waiters are plain numbers here
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

// A key pair takes 100 ms to make here, so one generator makes 10 within the 1 s wait target.
constexpr auto generation = 100ms;

key_schedule_options options(std::size_t stock, std::size_t max_shares, std::size_t generators = 1,
                             std::size_t max_waiting = 10000,
                             std::chrono::steady_clock::duration wait_target = 1s) {
    return {.stock = stock,
            .max_shares = max_shares,
            .wait_target = wait_target,
            .generators = generators,
            .max_waiting = max_waiting};
}

// Runs every generation the schedule asks for, numbering keys from `next_key`.
void fill_stock(schedule& s, int& next_key) {
    while (s.begin_generation()) {
        CHECK(s.key_made(next_key++, t0, generation).empty());
    }
}

std::vector<int> waiters_of(const std::vector<schedule::handout>& handouts) {
    std::vector<int> out;
    for (const auto& h : handouts) {
        out.push_back(h.waiter);
    }
    return out;
}

}  // namespace

TEST_CASE("key schedule: connections get fresh keys while the stock lasts, then wait") {
    schedule s(options(3, 32));
    int next_key = 100;
    fill_stock(s, next_key);
    REQUIRE(s.stock() == 3);
    std::set<int> keys;
    for (int i = 0; i < 3; ++i) {
        const auto a = s.request("10.0.0.1", i, t0);
        REQUIRE(a.grant == key_grant::fresh);
        keys.insert(*a.key);
    }
    CHECK(keys == std::set<int>{100, 101, 102});
    const auto queued = s.request("10.0.0.1", 3, t0);
    CHECK(queued.grant == key_grant::queued);
    CHECK_FALSE(queued.key);
    CHECK(s.waiting() == 1);
    // The stock is refilled behind them, and one more key is asked for the waiter.
    int asked = 0;
    while (s.begin_generation()) {
        ++asked;
    }
    CHECK(asked == 4);
    CHECK(s.generating() == 4);
}

TEST_CASE("key schedule: a key made goes to the waiters first, then to the stock") {
    schedule s(options(2, 32));
    CHECK(s.request("10.0.0.1", 0, t0).grant == key_grant::queued);
    CHECK(s.request("10.0.0.1", 1, t0).grant == key_grant::queued);
    // Two waiters, keyable one by one within the wait target: stock 2 plus 2.
    int asked = 0;
    while (s.begin_generation()) {
        ++asked;
    }
    CHECK(asked == 4);
    const auto first = s.key_made(1, t0 + 2s, generation);
    REQUIRE(first.size() == 1);
    CHECK(first[0].waiter == 0);  // oldest first
    CHECK(first[0].key == 1);
    CHECK(first[0].waited == 2s);
    const auto second = s.key_made(2, t0 + 2s, generation);
    REQUIRE(second.size() == 1);
    CHECK(second[0].waiter == 1);
    CHECK(second[0].key == 2);  // a key pair of its own
    CHECK(s.key_made(3, t0 + 2s, generation).empty());
    CHECK(s.key_made(4, t0 + 2s, generation).empty());
    CHECK(s.stock() == 2);
    const auto a = s.request("10.0.0.1", 2, t0 + 3s);
    CHECK(a.grant == key_grant::fresh);
    CHECK(*a.key == 3);
}

TEST_CASE("key schedule: a key pair per connection while the queue clears within the target") {
    // One generator making one key pair per 100 ms keys 10 waiters one by one within 1 s.
    schedule s(options(0, 32));
    for (int i = 0; i < 10; ++i) {
        CHECK(s.request("10.0.0.1", i, t0).grant == key_grant::queued);
    }
    CHECK(s.shares_per_key() == 1);
    std::set<int> keys;
    for (int k = 0; k < 10; ++k) {
        const auto handouts = s.key_made(k, t0, generation);
        REQUIRE(handouts.size() == 1);
        keys.insert(handouts[0].key);
    }
    CHECK(keys.size() == 10);
}

TEST_CASE("key schedule: a storm shares key pairs just enough to clear it, at most max_shares") {
    schedule s(options(0, 32, 2));
    for (int i = 0; i < 100; ++i) {
        CHECK(s.request("10.0.0.1", i, t0).grant == key_grant::queued);
    }
    // Two generators at 100 ms make 20 key pairs a second: 100 waiters, 5 per key pair.
    CHECK(s.key_made(1, t0, generation).size() == 5);
    // Slower generation (a loaded machine) shares more; the smoothing follows it.
    schedule slow(options(0, 32, 2));
    for (int i = 0; i < 1000; ++i) {
        slow.request("10.0.0.1", i, t0);
    }
    CHECK(slow.key_made(1, t0, 1s).size() == 32);  // 500 would clear it: capped
    // 968 wait; generations of 100 ms pull the estimate down towards it.
    for (int k = 0; k < 30; ++k) {
        slow.key_made(2, t0, generation);
    }
    CHECK(slow.shares_per_key() < 32);
    // Never more than max_shares, and max_shares 1 never shares.
    schedule single(options(0, 1, 1));
    for (int i = 0; i < 1000; ++i) {
        single.request("10.0.0.1", i, t0);
    }
    CHECK(single.key_made(1, t0, 10s).size() == 1);
    // Every key made is handed out at the instant it is made: none is left to share later.
    CHECK(single.request("10.0.0.1", 1000, t0).grant == key_grant::queued);
}

TEST_CASE("key schedule: no more waiters than generators get a key pair each, however slow") {
    schedule s(options(0, 32, 2));
    s.request("10.0.0.1", 0, t0);
    s.request("10.0.0.2", 1, t0);
    CHECK(s.key_made(1, t0, 30s).size() == 1);
    CHECK(s.key_made(2, t0, 30s).size() == 1);
}

TEST_CASE("key schedule: a zero wait target shares up to max_shares whenever several wait") {
    schedule s(options(0, 4, 1, 10000, 0s));
    for (int i = 0; i < 6; ++i) {
        s.request("10.0.0.1", i, t0);
    }
    CHECK(s.key_made(1, t0, generation).size() == 4);
    CHECK(s.key_made(2, t0, generation).size() == 2);
}

TEST_CASE("key schedule: waiters are served round robin by address, so a flood cannot starve") {
    schedule s(options(0, 4, 1, 10000, 0s));
    // One address floods first with 1,000 requests; three others come after it.
    for (int i = 0; i < 1000; ++i) {
        CHECK(s.request("192.0.2.66", i, t0).grant == key_grant::queued);
    }
    CHECK(s.request("192.0.2.1", 1001, t0 + 1ms).grant == key_grant::queued);
    CHECK(s.request("192.0.2.2", 1002, t0 + 1ms).grant == key_grant::queued);
    CHECK(s.request("192.0.2.2", 1003, t0 + 1ms).grant == key_grant::queued);
    CHECK(s.request("198.51.100.7", 1004, t0 + 1ms).grant == key_grant::queued);
    // The first key made: one hand-out per waiting address, the flood's oldest included.
    const auto first = waiters_of(s.key_made(1, t0 + 1s, generation));
    CHECK(std::set<int>(first.begin(), first.end()) == std::set<int>{0, 1001, 1002, 1004});
    // The second: the other address's second waiter and then the flood again.
    const auto second = waiters_of(s.key_made(2, t0 + 1s, generation));
    CHECK(std::set<int>(second.begin(), second.end()) == std::set<int>{1, 2, 3, 1003});
    CHECK(s.waiting() == 996);
}

TEST_CASE("key schedule: a steady flood that leaves at once costs the others nothing") {
    // Each tick the flooder opens 45 connections, which close (cancel) a tick later; one key is
    // made per tick. Real clients arrive now and then from other addresses.
    schedule s(options(0, 8));
    std::vector<std::uint64_t> flood_previous;
    std::map<int, int> served_at_tick;
    int next_waiter = 0;
    std::map<int, int> real_since;
    for (int tick = 0; tick < 200; ++tick) {
        const auto now = t0 + tick * 100ms;
        for (const auto id : flood_previous) {
            s.cancel(id);
        }
        flood_previous.clear();
        for (int i = 0; i < 45; ++i) {
            const auto a = s.request("203.0.113.9", -1 - next_waiter++, now);
            REQUIRE(a.grant == key_grant::queued);
            flood_previous.push_back(a.id);
        }
        if (tick % 10 == 0) {
            const int real = next_waiter++;
            const auto a = s.request(fmt::format("10.1.0.{}", tick / 10), real, now);
            REQUIRE(a.grant == key_grant::queued);
            real_since[real] = tick;
        }
        if (s.begin_generation()) {
            for (const auto& h : s.key_made(tick, now, generation)) {
                if (h.waiter >= 0) {
                    served_at_tick[h.waiter] = tick;
                }
            }
        }
    }
    REQUIRE(served_at_tick.size() == real_since.size());
    for (const auto& [real, since] : real_since) {
        CHECK(served_at_tick[real] == since);  // keyed by the very next key made
    }
}

TEST_CASE("key schedule: a cancelled waiter never takes a key, and asks for none") {
    schedule s(options(0, 2, 1, 10000, 0s));
    const auto a = s.request("10.0.0.1", 1, t0);
    const auto b = s.request("10.0.0.1", 2, t0);
    const auto c = s.request("10.0.0.2", 3, t0);
    REQUIRE(s.waiting() == 3);
    CHECK(s.cancel(b.id));
    CHECK_FALSE(s.cancel(b.id));
    CHECK(s.waiting() == 2);
    REQUIRE(s.begin_generation());
    CHECK_FALSE(s.begin_generation());  // two waiters, two hand-outs per key: one key
    const auto handouts = waiters_of(s.key_made(1, t0, generation));
    CHECK(std::set<int>(handouts.begin(), handouts.end()) == std::set<int>{1, 3});
    CHECK_FALSE(s.cancel(a.id));  // served already
    CHECK_FALSE(s.cancel(c.id));
    // Everyone left before a key was made: nothing more is asked for, the key made is stocked.
    schedule t(options(1, 2));
    const auto d = t.request("10.0.0.1", 4, t0);
    REQUIRE(t.begin_generation());
    CHECK(t.cancel(d.id));
    CHECK_FALSE(t.begin_generation());  // the one in flight covers the stock of 1
    CHECK(t.key_made(1, t0, generation).empty());
    CHECK(t.stock() == 1);
}

TEST_CASE("key schedule: requests past max_waiting are refused") {
    schedule s(options(0, 2, 1, 3));
    for (int i = 0; i < 3; ++i) {
        CHECK(s.request("10.0.0.1", i, t0).grant == key_grant::queued);
    }
    CHECK(s.request("10.0.0.2", 3, t0).grant == key_grant::refused);
    CHECK(s.waiting() == 3);
}

TEST_CASE("key schedule: a failed generation is asked for again, surplus keys are dropped") {
    schedule s(options(1, 2));
    REQUIRE(s.begin_generation());
    CHECK_FALSE(s.begin_generation());
    s.generation_failed();
    CHECK(s.generating() == 0);
    REQUIRE(s.begin_generation());
    CHECK(s.key_made(1, t0, generation).empty());
    // A key arriving with the stock full (its waiters left meanwhile) is not kept.
    CHECK(s.key_made(2, t0, generation).empty());
    CHECK(s.stock() == 1);
    CHECK(s.discarded() == 1);
}

TEST_CASE("key pool: fairness is per IPv4 address and per IPv6 /64") {
    using boost::asio::ip::make_address;
    CHECK(fairness_key(make_address("192.0.2.10")) == "192.0.2.10");
    CHECK(fairness_key(make_address("::ffff:192.0.2.10")) == "192.0.2.10");
    CHECK(fairness_key(make_address("2001:db8:1:2:aaaa::1")) == "2001:0db8:0001:0002::/64");
    CHECK(fairness_key(make_address("2001:db8:1:2:bbbb::9")) ==
          fairness_key(make_address("2001:db8:1:2::1")));
    CHECK(fairness_key(make_address("2001:db8:1:3::1")) !=
          fairness_key(make_address("2001:db8:1:2::1")));
}

TEST_CASE("key pool: queued requests get a key from the workers, cancelled ones never do") {
    prometheus::Registry registry;
    mgw::core::logger log(mgw::core::log_level::error, mgw::core::log_format::text);
    // One worker and a wait target of 0: the two waiters left share one key pair.
    key_pool pool({.bits = 1024, .threads = 1, .schedule = options(0, 2, 1, 10000, 0s)}, registry,
                  log);
    std::mutex mutex;
    std::condition_variable changed;
    std::map<int, std::string> delivered;  // waiter -> public key DER
    auto deliver_to = [&](int waiter) {
        return [&, waiter](key_pair key) {
            std::lock_guard lock(mutex);
            delivered.emplace(waiter, key.public_key_der());
            changed.notify_all();
        };
    };
    const auto a = pool.request("10.0.0.1", deliver_to(1));
    const auto b = pool.request("10.0.0.1", deliver_to(2));
    const auto c = pool.request("10.0.0.2", deliver_to(3));
    REQUIRE(a.kind == key_grant::queued);
    REQUIRE(b.kind == key_grant::queued);
    REQUIRE(c.kind == key_grant::queued);
    pool.cancel(b.ticket);
    {
        std::unique_lock lock(mutex);
        REQUIRE(changed.wait_for(lock, 60s, [&] { return delivered.size() >= 2; }));
    }
    pool.stop();  // nothing is delivered after stop() returns
    CHECK(delivered.size() == 2);
    CHECK(delivered.contains(1));
    CHECK(delivered.contains(3));
    CHECK(delivered[1] == delivered[3]);  // one key pair for both: max_shares 2
    CHECK(delivered[1].size() == 162);    // SPKI DER of an RSA-1024 key
}

TEST_CASE("key pool: the stock is made ahead, and its keys are handed out at once") {
    prometheus::Registry registry;
    mgw::core::logger log(mgw::core::log_level::error, mgw::core::log_format::text);
    key_pool pool({.bits = 1024, .threads = 1, .schedule = options(2, 1)}, registry, log);
    std::set<std::string> keys;
    // Whatever is not in stock yet is queued; poll until two came at once from the stock.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    int fresh = 0;
    while (fresh < 2 && std::chrono::steady_clock::now() < deadline) {
        auto grant = pool.request("10.0.0.1", [](key_pair) {});
        if (grant.kind == key_grant::fresh) {
            ++fresh;
            keys.insert(grant.key->public_key_der());
        } else {
            REQUIRE(grant.kind == key_grant::queued);
            pool.cancel(grant.ticket);
            std::this_thread::sleep_for(20ms);
        }
    }
    CHECK(fresh == 2);
    CHECK(keys.size() == 2);  // max_shares 1: never the same key twice
}
