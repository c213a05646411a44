// The distributor's contract from the original server's tests (study C: same id shares,
// different ids each get everything, slow subscription drops alone) plus the queue group's
// fairness, bounds in bytes and against the memory budget, give-back, expiry and close.
#include <set>

#include <catch2/catch.hpp>

#include <mgw/bosh/subscription_distributor.hpp>

using namespace mgw::bosh;
using namespace std::chrono_literals;

namespace {

using clock = subscription_distributor::clock;
using mgw::core::memory_budget;
using mgw::core::memory_use;

std::string event_text(int n) {
    return "event-" + std::to_string(n);
}

std::vector<std::string> drain(subscription_distributor& d, subscription_distributor::consumer_id c,
                               std::size_t max = 1000, std::size_t max_bytes = SIZE_MAX) {
    std::vector<event_ptr> out;
    d.pop(c, out, max, max_bytes);
    std::vector<std::string> texts;
    for (const auto& e : out) {
        texts.push_back(e->json);
    }
    return texts;
}

subscription_distributor::consumer_id attach(
    subscription_distributor& d, std::string_view id,
    subscription_distributor::wake_function wake = [] {}, clock::time_point now = clock::now()) {
    const auto attached = d.attach(id, std::move(wake), now);
    REQUIRE(attached.consumer);
    return *attached.consumer;
}

subscription_stats stats_of(const subscription_distributor& d, std::string_view id) {
    for (const auto& s : d.stats()) {
        if (s.id == id) {
            return s;
        }
    }
    FAIL("no subscription " << id);
    return {};
}

}  // namespace

TEST_CASE("consumers of one subscription share its events, each event once", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto a = attach(d, "shared");
    const auto b = attach(d, "shared");
    std::multiset<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        d.publish(event_text(i));
        // Alternate who reads, like two streams taking turns.
        for (const auto& e : drain(d, i % 2 == 0 ? a : b, 1)) {
            seen.insert(e);
        }
    }
    for (const auto c : {a, b}) {
        for (const auto& e : drain(d, c)) {
            seen.insert(e);
        }
    }
    CHECK(seen.size() == 100);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 100);
}

// The regression of the shared-subscription test that failed under load: with consumers racing
// for one queue, the one scheduled first took all 300 events. An event is assigned when it is
// published, so a consumer that was attached gets its share even if its thread runs late.
TEST_CASE("each consumer of a group gets events even when only one is ever scheduled",
          "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto a = attach(d, "forwarder");
    const auto b = attach(d, "forwarder");
    std::set<std::string> seen;
    for (int i = 0; i < 300; i += 7) {  // bursts, as HM writes
        std::vector<std::string> texts;
        for (int n = i; n < std::min(i + 7, 300); ++n) {
            texts.push_back(event_text(n));
        }
        const std::vector<std::string_view> burst(texts.begin(), texts.end());
        d.publish(burst);
        for (const auto& e : drain(d, a)) {  // only `a` runs
            CHECK(seen.insert(e).second);
        }
    }
    const auto for_b = drain(d, b);
    CHECK_FALSE(for_b.empty());
    for (const auto& e : for_b) {
        CHECK(seen.insert(e).second);
    }
    CHECK(seen.size() == 300);
}

TEST_CASE("consumers of a group that keep up split its events evenly", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto a = attach(d, "forwarder");
    const auto b = attach(d, "forwarder");
    std::size_t to_a = 0;
    std::size_t to_b = 0;
    for (int i = 0; i < 300; ++i) {
        d.publish(event_text(i));
        to_a += drain(d, a).size();
        to_b += drain(d, b).size();
    }
    CHECK(to_a == 150);
    CHECK(to_b == 150);
}

TEST_CASE("different subscriptions each get every event", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto a = attach(d, "one");
    const auto b = attach(d, "two");
    for (int i = 0; i < 50; ++i) {
        CHECK(d.publish(event_text(i)) == 2);
    }
    CHECK(drain(d, a).size() == 50);
    CHECK(drain(d, b).size() == 50);
}

// Cluster mode: NATS chose this node for one id's copy of an event; the other ids get theirs
// through their own queue groups.
TEST_CASE("publish_to queues for the named subscription only", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 3}, memory);
    const auto a1 = attach(d, "A");
    const auto a2 = attach(d, "A");
    const auto b = attach(d, "B");
    for (int i = 0; i < 4; ++i) {
        CHECK(d.publish_to("A", event_text(i)) == 1);
        CHECK(drain(d, a1).size() + drain(d, a2).size() == 1);
    }
    CHECK(drain(d, b).empty());
    CHECK(d.publish_to("nobody", "x") == 0);
    CHECK(d.subscription_count() == 2);
    // Its bounds hold as in publish: the fourth waiting event is dropped, counted.
    for (int i = 0; i < 4; ++i) {
        d.publish_to("B", event_text(i));
    }
    CHECK(drain(d, b) == std::vector<std::string>{"event-0", "event-1", "event-2"});
    CHECK(stats_of(d, "B").dropped_full == 1);
    CHECK(stats_of(d, "A").delivered == 4);
    d.close();
    CHECK(d.publish_to("A", "late") == 0);
}

TEST_CASE("a full queue drops for its own subscription only, counted", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 10}, memory);
    const auto slow = attach(d, "slow");
    const auto fast = attach(d, "fast");
    std::size_t fast_got = 0;
    for (int i = 0; i < 20; ++i) {
        d.publish(event_text(i));
        fast_got += drain(d, fast).size();
    }
    CHECK(fast_got == 20);
    const auto slow_events = drain(d, slow);
    REQUIRE(slow_events.size() == 10);
    CHECK(slow_events.front() == "event-0");  // the oldest are kept, the newest dropped
    CHECK(stats_of(d, "slow").dropped_full == 10);
    CHECK(stats_of(d, "slow").delivered == 10);
    CHECK(stats_of(d, "fast").dropped_full == 0);
    CHECK(stats_of(d, "fast").delivered == 20);
}

// Issue 10 item 6: 1,024 events of 1 MiB per subscription was the only bound. Now the bytes
// are bounded too, whatever the number of events.
TEST_CASE("a queue is bounded in bytes as well as in events", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 1024, .queue_bytes = 10'000}, memory);
    const auto c = attach(d, "s");
    const std::string big(4'000, 'x');
    CHECK(d.publish(big) == 1);
    CHECK(d.publish(big) == 1);
    CHECK(d.publish(big) == 0);  // 12,000 bytes would pass the 10,000
    CHECK(d.publish("small") == 1);
    const auto s = stats_of(d, "s");
    CHECK(s.queued == 3);
    CHECK(s.queued_bytes == 8'005);
    CHECK(s.dropped_full == 1);
    CHECK(drain(d, c).size() == 3);
    CHECK(stats_of(d, "s").queued_bytes == 0);
    CHECK(d.publish(std::string(10'001, 'y')) == 0);  // larger than a whole queue
}

TEST_CASE("queued events lease their bytes once, from the memory budget", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto a = attach(d, "a");
    const auto b = attach(d, "b");
    const std::string text(1000, 'x');
    d.publish(text);
    const std::size_t one_event = memory.leased(memory_use::bosh_queues);
    CHECK(one_event >= 1000);
    CHECK(one_event < 1200);  // one copy for both subscriptions
    drain(d, a);
    CHECK(memory.leased(memory_use::bosh_queues) == one_event);  // b still holds it
    {
        std::vector<event_ptr> held;
        d.pop(b, held, 10);
        CHECK(memory.leased(memory_use::bosh_queues) == one_event);  // being written
    }
    CHECK(memory.leased(memory_use::bosh_queues) == 0);
}

TEST_CASE("an event the memory budget refuses is dropped for every subscription, counted",
          "[distributor]") {
    memory_budget memory(5'000);
    subscription_distributor d({}, memory);
    attach(d, "a");
    attach(d, "b");
    CHECK(d.publish(std::string(3'000, 'x')) == 2);
    CHECK(d.publish(std::string(3'000, 'y')) == 0);  // 6,000 would pass the ceiling
    CHECK(memory.refusals(memory_use::bosh_queues) == 1);
    for (const char* id : {"a", "b"}) {
        CHECK(stats_of(d, id).dropped_memory == 1);
        CHECK(stats_of(d, id).queued == 1);
    }
}

TEST_CASE("no subscription has room: the event is neither copied nor leased", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 1}, memory);
    const auto c = attach(d, "s");
    d.publish("first");
    const std::size_t held = memory.leased(memory_use::bosh_queues);
    CHECK(d.publish("second") == 0);
    CHECK(memory.leased(memory_use::bosh_queues) == held);
    CHECK(drain(d, c) == std::vector<std::string>{"first"});
}

TEST_CASE("a pop stops at its byte bound, but always takes one event", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto c = attach(d, "s");
    d.publish(std::string(100, 'a'));
    d.publish(std::string(100, 'b'));
    d.publish(std::string(100, 'c'));
    CHECK(drain(d, c, 10, 250).size() == 2);
    CHECK(drain(d, c, 10, 50).size() == 1);  // larger than the bound alone: still delivered
}

TEST_CASE("a consumer that stops reading is no longer chosen once it is behind", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 100}, memory);
    const auto stuck = attach(d, "s");
    const auto healthy = attach(d, "s");
    std::size_t healthy_got = 0;
    for (int i = 0; i < 1000; ++i) {
        d.publish(event_text(i));
        healthy_got += drain(d, healthy).size();
    }
    // The stuck one got the first event (a tie), then never again: the group never filled.
    CHECK(stats_of(d, "s").dropped_full == 0);
    CHECK(drain(d, stuck).size() == 1);
    CHECK(healthy_got == 999);
}

TEST_CASE("a waiting consumer is woken when an event is assigned to it", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    int woken_a = 0;
    int woken_b = 0;
    const auto a = attach(d, "s", [&] { ++woken_a; });
    const auto b = attach(d, "s", [&] { ++woken_b; });
    CHECK(drain(d, a).empty());  // both now wait
    CHECK(drain(d, b).empty());
    d.publish(event_text(1));
    CHECK(woken_a + woken_b == 1);
    d.publish(event_text(2));
    CHECK(woken_a == 1);  // the other waiter gets the next one
    CHECK(woken_b == 1);
    d.publish(event_text(3));  // nobody waits any more: nobody is woken
    CHECK(woken_a + woken_b == 2);
}

TEST_CASE("events held by a consumer that leaves go to the others", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    int woken_b = 0;
    const auto t0 = clock::now();
    const auto a = attach(
        d, "s", [] {}, t0);
    const auto b = attach(
        d, "s", [&] { ++woken_b; }, t0);
    CHECK(drain(d, b).empty());  // b waits
    for (int i = 0; i < 4; ++i) {
        d.publish(event_text(i));
    }
    CHECK(woken_b == 1);
    d.detach(a, t0);  // a had two of them, unread
    CHECK(drain(d, b).size() == 4);
    CHECK(stats_of(d, "s").queued == 0);
}

TEST_CASE("events given back after a failed write reach another consumer", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto t0 = clock::now();
    const auto a = attach(
        d, "s", [] {}, t0);
    const auto b = attach(
        d, "s", [] {}, t0);
    for (int i = 0; i < 4; ++i) {
        d.publish(event_text(i));
    }
    std::vector<event_ptr> batch;
    REQUIRE(d.pop(a, batch, 10).count == 2);
    d.give_back(a, batch);  // a's client went away mid-write
    d.detach(a, t0);
    std::set<std::string> got;
    for (const auto& e : drain(d, b)) {
        got.insert(e);
    }
    CHECK(got == std::set<std::string>{"event-0", "event-1", "event-2", "event-3"});
    CHECK(stats_of(d, "s").returned == 2);
}

TEST_CASE("an idle subscription expires, one with a consumer never does", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.idle_expiry = 10min}, memory);
    const auto t0 = clock::now();
    const auto gone = attach(
        d, "gone", [] {}, t0);
    const auto kept = attach(
        d, "kept", [] {}, t0);
    d.detach(gone, t0 + 1min);
    d.publish(event_text(1));
    CHECK(d.expire_idle(t0 + 10min).empty());
    const auto expired = d.expire_idle(t0 + 11min);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].id == "gone");
    CHECK(expired[0].queued == 1);
    CHECK(d.subscription_count() == 1);
    CHECK(memory.leased(memory_use::bosh_queues) > 0);  // `kept` still holds the event
    // A reconnect after expiry starts empty: no stale replay.
    const auto again = attach(
        d, "gone", [] {}, t0 + 12min);
    CHECK(drain(d, again).empty());
    CHECK(drain(d, kept).size() == 1);
    CHECK(d.expire_idle(t0 + 1000min).empty());
    CHECK(memory.leased(memory_use::bosh_queues) == 0);
}

TEST_CASE("a reconnect within the expiry gets what was queued meanwhile", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    const auto t0 = clock::now();
    const auto first = attach(
        d, "s", [] {}, t0);
    d.detach(first, t0);
    d.publish(event_text(1));
    const auto second = attach(
        d, "s", [] {}, t0 + 1min);
    CHECK(drain(d, second) == std::vector<std::string>{"event-1"});
}

TEST_CASE("subscriptions, consumers and ids are bounded", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d(
        {.queue_capacity = 4, .max_subscriptions = 2, .max_consumers_per_subscription = 2}, memory);
    const auto t0 = clock::now();
    CHECK(d.attach(
               "a", [] {}, t0)
              .consumer);
    CHECK(d.attach(
               "b", [] {}, t0)
              .consumer);
    CHECK(d.attach(
               "c", [] {}, t0)
              .error == attach_error::too_many_subscriptions);
    CHECK(d.attach(
               "a", [] {}, t0)
              .consumer);  // joining an existing one is fine
    CHECK(d.attach(
               "a", [] {}, t0)
              .error == attach_error::too_many_consumers);
    // The same rules for every transport: checked here, not in the HTTP handler only.
    CHECK(d.attach(
               std::string(257, 'x'), [] {}, t0)
              .error == attach_error::invalid_id);
    CHECK(d.attach(
               "bad\nid", [] {}, t0)
              .error == attach_error::invalid_id);
    CHECK(valid_subscription_id(""));  // what a gRPC request without one means
    CHECK(valid_subscription_id(std::string(256, 'x')));
}

TEST_CASE("close lets consumers drain, then reports closed and wakes waiters", "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({}, memory);
    int woken = 0;
    const auto t0 = clock::now();
    const auto a = attach(
        d, "s", [&] { ++woken; }, t0);
    const auto b = attach(
        d, "t", [] {}, t0);
    const auto gone = attach(
        d, "u", [] {}, t0);
    d.detach(gone, t0);
    CHECK(drain(d, a).empty());
    d.publish(event_text(1));
    CHECK(woken == 1);
    CHECK(drain(d, a).size() == 1);  // a waits again below
    std::vector<event_ptr> out;
    CHECK_FALSE(d.pop(a, out, 10).closed);
    d.close();
    CHECK(woken == 2);
    CHECK(d.pop(a, out, 10).closed);
    const auto from_b = d.pop(b, out, 10);
    CHECK(from_b.count == 1);
    CHECK_FALSE(from_b.closed);
    CHECK(d.pop(b, out, 10).closed);
    CHECK(d.publish(event_text(2)) == 0);
    CHECK(d.attach(
               "v", [] {}, t0)
              .error == attach_error::closed);
    out.clear();
    CHECK(memory.leased(memory_use::bosh_queues) == 0);  // "u"'s backlog was let go
}

TEST_CASE("a batch is published in order, truncated per subscription at its bound",
          "[distributor]") {
    memory_budget memory(0);
    subscription_distributor d({.queue_capacity = 5}, memory);
    int woken = 0;
    const auto small = attach(d, "small", [&] { ++woken; });
    const auto other = attach(d, "other");
    CHECK(drain(d, small).empty());  // waiting
    d.publish(event_text(0));
    CHECK(woken == 1);
    CHECK(drain(d, other).size() == 1);
    std::vector<std::string> texts;
    for (int i = 1; i <= 8; ++i) {
        texts.push_back(event_text(i));
    }
    const std::vector<std::string_view> batch(texts.begin(), texts.end());
    d.publish(batch);
    CHECK(drain(d, small) ==
          std::vector<std::string>{"event-0", "event-1", "event-2", "event-3", "event-4"});
    CHECK(drain(d, other).size() == 5);
    CHECK(stats_of(d, "small").dropped_full == 4);
    CHECK(stats_of(d, "other").dropped_full == 3);  // "other" had read event-0 already
}

TEST_CASE("the gRPC encoding is made once per event, leased with it, and only for subscribers",
          "[distributor]") {
    memory_budget memory(0);
    int encoded = 0;
    const auto encode = [&encoded](std::string_view line) {
        ++encoded;
        return line.starts_with("skip") ? std::string() : "grpc:" + std::string(line);
    };
    subscription_distributor d({.encode_grpc = encode}, memory);
    CHECK(d.publish("nobody-listens") == 0);
    CHECK(encoded == 0);
    const auto a = attach(d, "a");
    const auto b = attach(d, "b");
    CHECK(d.publish("hello") == 2);
    CHECK(encoded == 1);  // once for both subscriptions
    const std::size_t first_event = memory.leased(memory_use::bosh_queues);
    CHECK(d.publish("skip-me") == 2);            // not mappable: still streamed as JSON
    CHECK(stats_of(d, "a").queued_bytes == 12);  // the queue bound counts the JSON only
    std::vector<event_ptr> out;
    d.pop(a, out, 10);
    REQUIRE(out.size() == 2);
    CHECK(out[0]->json == "hello");
    CHECK(out[0]->grpc == "grpc:hello");
    CHECK(out[1]->grpc.empty());
    CHECK(drain(d, b).size() == 2);
    // The gRPC bytes are in the event's lease: ten more than without the egress.
    memory_budget plain_memory(0);
    subscription_distributor plain({}, plain_memory);
    attach(plain, "a");
    plain.publish("hello");
    CHECK(first_event == plain_memory.leased(memory_use::bosh_queues) + 10);
}

TEST_CASE("a pop measures the encoding its consumer sends", "[distributor]") {
    memory_budget memory(0);
    // A gRPC encoding ten times the JSON's size.
    subscription_distributor d(
        {.encode_grpc = [](std::string_view line) { return std::string(line.size() * 10, 'g'); }},
        memory);
    const auto c = attach(d, "s");
    for (int i = 0; i < 4; ++i) {
        d.publish(std::string(10, 'j'));
    }
    std::vector<event_ptr> out;
    CHECK(d.pop(c, out, 10, 250, event_encoding::grpc).count == 2);  // 2 x 100 gRPC bytes
    CHECK(stats_of(d, "s").queued_bytes == 20);                      // JSON bytes left
    CHECK(d.pop(c, out, 10, 250, event_encoding::json).count == 2);
    CHECK(stats_of(d, "s").queued_bytes == 0);
}
