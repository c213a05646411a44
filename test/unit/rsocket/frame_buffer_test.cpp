// Unit tests: a frame's buffer grows with the bytes that arrived and is leased before it grows,
// so a WebSocket SETUP of a hundred bytes needs a few KiB of the budget, not a whole read chunk.
#include "frame_buffer.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace mgw;
using rsocket::connection_memory;
using rsocket::held_bytes;

namespace {

// What the WebSocket transport does for one message of `size` bytes arriving in reads of at
// most `per_read`: room for the next read, then the bytes. Returns false when refused.
bool read_message(std::string& frame, std::size_t size, std::size_t per_read, std::size_t most,
                  held_bytes& bytes) {
    frame.clear();
    while (frame.size() < size) {
        if (!rsocket::reserve_next_read(frame, most, bytes)) {
            return false;
        }
        const std::size_t room = frame.capacity() - frame.size();
        frame.append(std::min({room, per_read, size - frame.size()}), 'x');
    }
    return true;
}

}  // namespace

TEST_CASE("a small WebSocket message leases a few KiB, not a read chunk") {
    // What is left of a budget that other clients filled.
    core::memory_budget budget(8 << 10);
    connection_memory memory(&budget, 0);
    held_bytes bytes(memory, core::memory_use::rsocket_frames);
    std::string frame;
    REQUIRE(read_message(frame, 120, 65536, 16 << 20, bytes));
    CHECK(frame.size() == 120);
    CHECK(bytes.bytes() <= rsocket::first_read_bytes + 1);
    CHECK(budget.refusals(core::memory_use::rsocket_frames) == 0);
}

TEST_CASE("a large WebSocket message grows its buffer with what arrived") {
    core::memory_budget budget(0);
    connection_memory memory(&budget, 0);
    held_bytes bytes(memory, core::memory_use::rsocket_frames);
    std::string frame;
    constexpr std::size_t size = 1 << 20;
    REQUIRE(read_message(frame, size, 65536, 16 << 20, bytes));
    CHECK(frame.size() == size);
    // At most twice what arrived, however it was announced.
    CHECK(bytes.bytes() <= 2 * size + 1);
    CHECK(bytes.bytes() == frame.capacity() + 1);
    CHECK(budget.leased() == bytes.bytes());
}

TEST_CASE("a WebSocket message never grows past the most a message may be") {
    core::memory_budget budget(0);
    connection_memory memory(&budget, 0);
    held_bytes bytes(memory, core::memory_use::rsocket_frames);
    std::string frame;
    constexpr std::size_t most = 100'001;
    REQUIRE(read_message(frame, most, 65536, most, bytes));
    CHECK(frame.capacity() <= most);
    CHECK(rsocket::reserve_next_read(frame, most, bytes));  // full: nothing more to make room for
    CHECK(frame.capacity() <= most);
}

TEST_CASE("a refused growth leaves the frame and the lease as they were") {
    core::memory_budget budget(6 << 10);
    connection_memory memory(&budget, 0);
    held_bytes bytes(memory, core::memory_use::rsocket_frames);
    std::string frame;
    REQUIRE(rsocket::reserve_next_read(frame, 16 << 20, bytes));
    frame.append(frame.capacity(), 'x');
    const std::size_t held = bytes.bytes();
    CHECK_FALSE(rsocket::reserve_next_read(frame, 16 << 20, bytes));
    CHECK(bytes.bytes() == held);
    CHECK(frame.size() == rsocket::first_read_bytes);
    CHECK(budget.refusals(core::memory_use::rsocket_frames) == 1);
}
