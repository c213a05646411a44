// Unit tests: a connection's buffers lease from the process budget before they grow and stay
// under the connection's own cap; bytes handed over leave the connection but stay leased.
#include <catch2/catch.hpp>

#include <mgw/rsocket/connection_memory.hpp>

using namespace mgw;
using rsocket::connection_memory;
using rsocket::held_bytes;
using rsocket::memory_refusal;

TEST_CASE("buffers of a connection share its cap and the process budget") {
    core::memory_budget budget(1000);
    connection_memory memory(&budget, 600);
    held_bytes frame(memory, core::memory_use::rsocket_frames);
    held_bytes text(memory, core::memory_use::rsocket_pulls);

    CHECK(frame.reserve(400) == memory_refusal::none);
    CHECK(frame.reserve(300) == memory_refusal::none);  // already held
    CHECK(text.reserve(300) == memory_refusal::connection);
    CHECK(text.bytes() == 0);
    CHECK(text.reserve(200) == memory_refusal::none);
    CHECK(memory.used() == 600);
    CHECK(budget.leased(core::memory_use::rsocket_frames) == 400);
    CHECK(budget.leased(core::memory_use::rsocket_pulls) == 200);

    frame.fit(100);
    CHECK(memory.used() == 300);
    CHECK(budget.leased() == 300);
}

TEST_CASE("the process budget refuses what the connection's cap would allow") {
    core::memory_budget budget(500);
    connection_memory a(&budget, 0);
    connection_memory b(&budget, 0);
    held_bytes held_a(a, core::memory_use::rsocket_frames);
    held_bytes held_b(b, core::memory_use::rsocket_frames);
    CHECK(held_a.reserve(400) == memory_refusal::none);
    CHECK(held_b.reserve(200) == memory_refusal::process);
    CHECK(budget.refusals(core::memory_use::rsocket_frames) == 1);
    held_a.release();
    CHECK(held_b.reserve(200) == memory_refusal::none);
}

TEST_CASE("detached bytes leave the connection and stay leased until the lease goes") {
    core::memory_budget budget(1000);
    connection_memory memory(&budget, 500);
    core::memory_lease handed_over;
    {
        held_bytes push(memory, core::memory_use::rsocket_pushes);
        CHECK(push.reserve(450) == memory_refusal::none);
        handed_over = push.detach();
        CHECK(memory.used() == 0);
        CHECK(push.bytes() == 0);
        CHECK(push.reserve(450) == memory_refusal::none);  // usable again
    }
    CHECK(memory.used() == 0);
    CHECK(handed_over.bytes() == 450);
    CHECK(budget.leased(core::memory_use::rsocket_pushes) == 450);
    handed_over.reset();
    CHECK(budget.leased() == 0);
}

TEST_CASE("without a budget only the connection's cap applies") {
    connection_memory memory(nullptr, 100);
    held_bytes held(memory, core::memory_use::rsocket_frames);
    CHECK(held.reserve(100) == memory_refusal::none);
    CHECK(held.reserve(101) == memory_refusal::connection);
}
