// The distributor's contract from the original server's tests (study C: same id shares,
// different ids each get everything, slow subscription drops alone) plus expiry and close.
#include <set>

#include <catch2/catch.hpp>

#include <mgw/bosh/subscription_distributor.hpp>

using namespace mgw::bosh;
using namespace std::chrono_literals;

namespace {

using clock = subscription_distributor::clock;

event_line make_event(int n) {
    return std::make_shared<const std::string>("event-" + std::to_string(n));
}

std::vector<std::string> drain(subscription_distributor& d, subscription_distributor::consumer_id c,
                               std::size_t max = 1000) {
    std::vector<event_line> out;
    d.pop(c, out, max);
    std::vector<std::string> texts;
    for (const auto& e : out) {
        texts.push_back(*e);
    }
    return texts;
}

}  // namespace

TEST_CASE("consumers of one subscription share its events, each event once", "[distributor]") {
    subscription_distributor d({});
    const auto t0 = clock::now();
    const auto a = d.attach(
        "shared", [] {}, t0);
    const auto b = d.attach(
        "shared", [] {}, t0);
    REQUIRE(a);
    REQUIRE(b);
    std::multiset<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        d.publish(make_event(i));
        // Alternate who reads, like two streams taking turns.
        for (const auto& e : drain(d, i % 2 == 0 ? *a : *b, 1)) {
            seen.insert(e);
        }
    }
    std::size_t from_a = 0;
    for (const auto& e : drain(d, *a)) {
        seen.insert(e);
        ++from_a;
    }
    CHECK(seen.size() == 100);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 100);
    CHECK(drain(d, *b).empty());
}

TEST_CASE("different subscriptions each get every event", "[distributor]") {
    subscription_distributor d({});
    const auto t0 = clock::now();
    const auto a = d.attach(
        "one", [] {}, t0);
    const auto b = d.attach(
        "two", [] {}, t0);
    for (int i = 0; i < 50; ++i) {
        CHECK(d.publish(make_event(i)) == 2);
    }
    CHECK(drain(d, *a).size() == 50);
    CHECK(drain(d, *b).size() == 50);
}

TEST_CASE("a full queue drops for its own subscription only, counted", "[distributor]") {
    subscription_distributor d({.queue_capacity = 10, .max_subscriptions = 8, .idle_expiry = 1min});
    const auto t0 = clock::now();
    const auto slow = d.attach(
        "slow", [] {}, t0);
    const auto fast = d.attach(
        "fast", [] {}, t0);
    std::size_t fast_got = 0;
    for (int i = 0; i < 20; ++i) {
        d.publish(make_event(i));
        fast_got += drain(d, *fast).size();
    }
    CHECK(fast_got == 20);
    const auto slow_events = drain(d, *slow);
    REQUIRE(slow_events.size() == 10);
    CHECK(slow_events.front() == "event-0");  // the oldest are kept, the newest dropped
    for (const auto& s : d.stats()) {
        CHECK(s.dropped == (s.id == "slow" ? 10u : 0u));
        CHECK(s.delivered == (s.id == "slow" ? 10u : 20u));
    }
}

TEST_CASE("a waiting consumer is woken once when an event arrives", "[distributor]") {
    subscription_distributor d({});
    int woken_a = 0;
    int woken_b = 0;
    const auto t0 = clock::now();
    const auto a = d.attach(
        "s", [&] { ++woken_a; }, t0);
    const auto b = d.attach(
        "s", [&] { ++woken_b; }, t0);
    CHECK(drain(d, *a).empty());  // both now wait
    CHECK(drain(d, *b).empty());
    d.publish(make_event(1));
    CHECK(woken_a + woken_b == 1);
    d.publish(make_event(2));
    CHECK(woken_a == 1);  // the other waiter gets the next one
    CHECK(woken_b == 1);
    d.publish(make_event(3));  // nobody waits any more: nobody is woken
    CHECK(woken_a + woken_b == 2);
}

TEST_CASE("events left by a consumer that leaves go to the other one", "[distributor]") {
    subscription_distributor d({});
    int woken_b = 0;
    const auto t0 = clock::now();
    const auto a = d.attach(
        "s", [] {}, t0);
    const auto b = d.attach(
        "s", [&] { ++woken_b; }, t0);
    d.publish(make_event(1));
    CHECK(drain(d, *b).size() == 1);
    CHECK(drain(d, *b).empty());  // b waits
    woken_b = 0;
    d.publish(make_event(2));  // wakes b (the only waiter), but a leaves before b reads
    d.publish(make_event(3));
    d.detach(*a, t0);
    CHECK(drain(d, *b).size() == 2);
}

TEST_CASE("an idle subscription expires; one with a consumer never does", "[distributor]") {
    subscription_distributor d(
        {.queue_capacity = 1024, .max_subscriptions = 8, .idle_expiry = 10min});
    const auto t0 = clock::now();
    const auto gone = d.attach(
        "gone", [] {}, t0);
    const auto kept = d.attach(
        "kept", [] {}, t0);
    d.detach(*gone, t0 + 1min);
    d.publish(make_event(1));
    CHECK(d.expire_idle(t0 + 10min).empty());
    CHECK(d.expire_idle(t0 + 11min) == std::vector<std::string>{"gone"});
    CHECK(d.subscription_count() == 1);
    // A reconnect after expiry starts empty: no stale replay.
    const auto again = d.attach(
        "gone", [] {}, t0 + 12min);
    CHECK(drain(d, *again).empty());
    CHECK(drain(d, *kept).size() == 1);
    CHECK(d.expire_idle(t0 + 1000min).empty());
}

TEST_CASE("a reconnect within the expiry gets what was queued meanwhile", "[distributor]") {
    subscription_distributor d({});
    const auto t0 = clock::now();
    const auto first = d.attach(
        "s", [] {}, t0);
    d.detach(*first, t0);
    d.publish(make_event(1));
    const auto second = d.attach(
        "s", [] {}, t0 + 1min);
    CHECK(drain(d, *second) == std::vector<std::string>{"event-1"});
}

TEST_CASE("the number of subscriptions is bounded", "[distributor]") {
    subscription_distributor d({.queue_capacity = 4, .max_subscriptions = 2, .idle_expiry = 1min});
    const auto t0 = clock::now();
    CHECK(d.attach(
        "a", [] {}, t0));
    CHECK(d.attach(
        "b", [] {}, t0));
    CHECK_FALSE(d.attach(
        "c", [] {}, t0));
    CHECK(d.attach(
        "a", [] {}, t0));  // joining an existing one is fine
}

TEST_CASE("close lets consumers drain, then reports closed and wakes waiters", "[distributor]") {
    subscription_distributor d({});
    int woken = 0;
    const auto t0 = clock::now();
    const auto a = d.attach(
        "s", [&] { ++woken; }, t0);
    const auto b = d.attach(
        "t", [] {}, t0);
    CHECK(drain(d, *a).empty());
    d.publish(make_event(1));
    CHECK(woken == 1);
    CHECK(drain(d, *a).size() == 1);  // a waits again below
    std::vector<event_line> out;
    CHECK_FALSE(d.pop(*a, out, 10).closed);
    d.close();
    CHECK(woken == 2);
    CHECK(d.pop(*a, out, 10).closed);
    const auto from_b = d.pop(*b, out, 10);
    CHECK(from_b.count == 1);
    CHECK_FALSE(from_b.closed);
    CHECK(d.pop(*b, out, 10).closed);
    CHECK(d.publish(make_event(2)) == 0);
    CHECK_FALSE(d.attach(
        "u", [] {}, t0));
}

TEST_CASE("a batch is published in order, truncated per subscription at its bound",
          "[distributor]") {
    subscription_distributor d({.queue_capacity = 5, .max_subscriptions = 8, .idle_expiry = 1min});
    int woken = 0;
    const auto t0 = clock::now();
    const auto small = d.attach(
        "small", [&] { ++woken; }, t0);
    const auto other = d.attach(
        "other", [] {}, t0);
    CHECK(drain(d, *small).empty());  // waiting
    d.publish(make_event(0));
    CHECK(woken == 1);
    CHECK(drain(d, *other).size() == 1);
    std::vector<event_line> batch;
    for (int i = 1; i <= 8; ++i) {
        batch.push_back(make_event(i));
    }
    d.publish(batch);
    CHECK(drain(d, *small) ==
          std::vector<std::string>{"event-0", "event-1", "event-2", "event-3", "event-4"});
    CHECK(drain(d, *other).size() == 5);
    for (const auto& s : d.stats()) {
        CHECK(s.dropped == (s.id == "small" ? 4u : 3u));  // "other" had read event-0 already
    }
}
