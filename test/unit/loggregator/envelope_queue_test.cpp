// The bounded queue: the byte bound and the memory budget at the producer, what wakes the
// emitter, batches cut by count and bytes, and the accounting of batches held, released,
// taken back and dropped; every leased byte comes back.
#include "loggregator/envelope_queue.hpp"

#include <string>

#include <catch2/catch.hpp>

#include <mgw/grpc/message_framing.hpp>

using namespace mgw::loggregator;
using mgw::core::memory_budget;
using mgw::core::memory_use;

namespace {

const clock::time_point t0 = clock::time_point{} + std::chrono::hours(1000);

// `n` entries of `size` bytes each, filled with a letter per entry so batches can be checked.
parcel make(std::size_t n, std::size_t size, envelope_source source = envelope_source::push,
            char first = 'a') {
    parcel p;
    p.source = source;
    for (std::size_t i = 0; i < n; ++i) {
        p.bytes.append(size, static_cast<char>(first + i % 26));
        p.add(size);
    }
    return p;
}

std::string entries_of(const batch& b) {
    return b.framed().substr(mgw::grpc::message_prefix_bytes);
}

}  // namespace

TEST_CASE("the first envelope and a full batch wake the emitter, nothing in between") {
    memory_budget budget(0);
    envelope_queue q({.max_bytes = 1 << 20, .wake_envelopes = 10}, budget);
    CHECK(q.push(make(1, 10), t0));
    CHECK_FALSE(q.push(make(5, 10), t0));
    CHECK(q.push(make(4, 10), t0));  // 10 now
    CHECK_FALSE(q.push(make(4, 10), t0));
    CHECK_FALSE(q.push(parcel{}, t0));  // nothing to queue
    CHECK(q.queued_envelopes() == 14);
    CHECK(q.held_bytes() == 140);
    CHECK(q.oldest() == t0);
    CHECK(q.offered(envelope_source::push) == 14);
}

TEST_CASE("the byte bound keeps the longest prefix that fits and counts the rest") {
    memory_budget budget(0);
    envelope_queue q({.max_bytes = 100, .wake_envelopes = 100}, budget);
    q.push(make(3, 30, envelope_source::bosh), t0);  // 90
    q.push(make(3, 20), t0);                         // 10 fit: none
    CHECK(q.dropped(envelope_source::push, drop_reason::queue_full) == 3);
    q.push(make(3, 5), t0);  // two fit
    CHECK(q.dropped(envelope_source::push, drop_reason::queue_full) == 4);
    CHECK(q.held_bytes() == 100);
    CHECK(q.queued_envelopes() == 5);
    CHECK(budget.leased(memory_use::loggregator) == 100);
    CHECK(q.dropped(envelope_source::bosh, drop_reason::queue_full) == 0);
    CHECK(q.offered(envelope_source::bosh) == 3);
    CHECK(q.offered(envelope_source::push) == 6);
}

TEST_CASE("the memory budget refuses before the bound: dropped for memory") {
    memory_budget budget(64);
    envelope_queue q({.max_bytes = 1000, .wake_envelopes = 100}, budget);
    CHECK(q.push(make(2, 30), t0));
    q.push(make(1, 30), t0);
    CHECK(q.dropped(envelope_source::push, drop_reason::memory) == 1);
    CHECK(q.queued_envelopes() == 2);
    CHECK(budget.refusals(memory_use::loggregator) == 1);
}

TEST_CASE("batches: whole entries in order, by count and by bytes, at least one") {
    memory_budget budget(0);
    envelope_queue q({.max_bytes = 1 << 20, .wake_envelopes = 100}, budget);
    q.push(make(3, 4, envelope_source::push, 'a'), t0);
    q.push(make(3, 4, envelope_source::bosh, 'x'), t0 + std::chrono::seconds(1));

    auto b = q.take_batch(2, 1 << 20);
    REQUIRE(b);
    CHECK(entries_of(*b) == "aaaabbbb");
    CHECK(b->envelopes[0] == 2);
    CHECK(b->envelopes[1] == 0);
    CHECK(b->framed().size() == 5 + 8);
    CHECK(static_cast<unsigned char>(b->framed()[4]) == 8);  // the gRPC length prefix
    CHECK(q.oldest() == t0);                                 // the parcel still has an entry

    auto c = q.take_batch(100, 10);  // 10 bytes: two entries of 4
    REQUIRE(c);
    CHECK(entries_of(*c) == "ccccxxxx");
    CHECK(c->envelopes[0] == 1);
    CHECK(c->envelopes[1] == 1);
    CHECK(c->count() == 2);
    CHECK(q.oldest() == t0 + std::chrono::seconds(1));

    auto d = q.take_batch(100, 1);  // smaller than one entry: one anyway
    REQUIRE(d);
    CHECK(entries_of(*d) == "yyyy");
    CHECK(q.queued_envelopes() == 1);
    CHECK(q.held_envelopes() == 6);  // taken batches stay held
    CHECK(q.held_bytes() == 24);

    auto e = q.take_batch(100, 1 << 20);
    REQUIRE(e);
    CHECK(entries_of(*e) == "zzzz");
    CHECK_FALSE(q.take_batch(100, 1 << 20));
    CHECK_FALSE(q.oldest());
}

TEST_CASE("held batches: released to the transport, taken back, dropped, the lease follows") {
    memory_budget budget(0);
    envelope_queue q({.max_bytes = 100, .wake_envelopes = 100}, budget);
    q.push(make(4, 10), t0);
    auto b = q.take_batch(2, 1000);
    auto c = q.take_batch(2, 1000);
    CHECK(budget.leased(memory_use::loggregator) == 40);

    q.release(*b);  // in the connection now
    CHECK(q.held_bytes() == 20);
    CHECK(q.held_envelopes() == 2);
    CHECK(budget.leased(memory_use::loggregator) == 20);
    // Room for new envelopes meanwhile; the batch that comes back may pass the bound.
    q.push(make(8, 10), t0);
    CHECK(q.held_bytes() == 100);
    CHECK(q.reacquire(*b));
    CHECK(q.held_bytes() == 120);
    CHECK(q.held_envelopes() == 12);

    q.drop(*c, drop_reason::shutdown);
    CHECK(q.dropped(envelope_source::push, drop_reason::shutdown) == 2);
    q.release(*b);
    q.count_lost(*b, drop_reason::shutdown);
    CHECK(q.dropped(envelope_source::push, drop_reason::shutdown) == 4);
    CHECK(q.drop_queued(drop_reason::shutdown) == 8);
    CHECK(q.dropped(envelope_source::push, drop_reason::shutdown) == 12);
    CHECK(q.held_bytes() == 0);
    CHECK(q.held_envelopes() == 0);
    CHECK(budget.leased(memory_use::loggregator) == 0);
}

TEST_CASE("a batch coming back when the budget is full is dropped for memory") {
    memory_budget budget(100);
    envelope_queue q({.max_bytes = 1000, .wake_envelopes = 100}, budget);
    q.push(make(2, 40), t0);
    auto b = q.take_batch(2, 1000);
    q.release(*b);
    q.push(make(2, 40), t0);
    CHECK_FALSE(q.reacquire(*b));
    CHECK(q.dropped(envelope_source::push, drop_reason::memory) == 2);
    CHECK(q.held_envelopes() == 2);
}

TEST_CASE("a producer sees whether there is room, and what it did not encode is counted") {
    memory_budget budget(0);
    envelope_queue q({.max_bytes = 100, .wake_envelopes = 100}, budget);
    CHECK(q.has_room(100));
    q.push(make(3, 30), t0);  // 90
    CHECK(q.has_room(10));
    CHECK_FALSE(q.has_room(11));
    q.refuse(envelope_source::push, 7);
    CHECK(q.offered(envelope_source::push) == 10);
    CHECK(q.dropped(envelope_source::push, drop_reason::queue_full) == 7);
    CHECK(q.queued_envelopes() == 3);
    CHECK(budget.leased(memory_use::loggregator) == 90);
}

TEST_CASE("a batch points into the parcels it takes from and keeps their bytes alive") {
    memory_budget budget(0);
    std::shared_ptr<batch> first;
    std::shared_ptr<batch> second;
    {
        envelope_queue q({.max_bytes = 1 << 20, .wake_envelopes = 100}, budget);
        q.push(make(3, 4, envelope_source::push, 'a'), t0);
        q.push(make(2, 4, envelope_source::bosh, 'x'), t0);
        first = q.take_batch(2, 1 << 20);   // a, b of the first parcel
        second = q.take_batch(2, 1 << 20);  // c of the first, x of the second
        q.drop_queued(drop_reason::shutdown);
        // The prefix, then one piece per parcel run: no entry was copied together.
        CHECK(first->pieces.size() == 2);
        CHECK(second->pieces.size() == 3);
        q.release(*first);
        q.release(*second);
    }
    // The queue and every parcel it held are gone; the batches still read their entries.
    CHECK(entries_of(*first) == "aaaabbbb");
    CHECK(entries_of(*second) == "ccccxxxx");
    CHECK(second->envelopes[0] == 1);
    CHECK(second->envelopes[1] == 1);
    const auto message = second->message(second);
    CHECK(message.size() == mgw::grpc::message_prefix_bytes + 8);
    CHECK(message.framed.size() == mgw::grpc::message_prefix_bytes);
    CHECK(message.more.size() == 2);
    CHECK(message.owner == second);
}
