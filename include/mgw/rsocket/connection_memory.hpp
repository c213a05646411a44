// RSocket module: the bytes one connection holds for its client (the frame being read, partial
// fragmented messages, pull replies and their decrypted text, a pushed exposition, queued
// output), each leased from the process budget (`limits.memory`) before it is filled and all
// together capped per connection (`rsocket.max_connection_bytes`), so that one client can
// neither take the gateway's memory nor more than its share of it. Used on the connection's
// strand only.
#pragma once

#include <cstddef>
#include <cstdint>

#include <mgw/core/memory_budget.hpp>

namespace mgw::rsocket {

// Which ceiling refused bytes.
enum class memory_refusal : std::uint8_t {
    none,
    connection,  // the connection's own cap
    process,     // the process budget (limits.memory)
};

class connection_memory {
  public:
    // `budget` null: nothing is leased (tests, tools); `limit` 0: no per-connection cap.
    connection_memory(core::memory_budget* budget, std::size_t limit)
        : budget_(budget), limit_(limit) {}
    connection_memory(const connection_memory&) = delete;
    connection_memory& operator=(const connection_memory&) = delete;

    std::size_t used() const { return used_; }
    std::size_t limit() const { return limit_; }

  private:
    friend class held_bytes;

    core::memory_budget* budget_;
    std::size_t limit_;
    std::size_t used_ = 0;
};

// One buffer's bytes, counted against its connection and leased from the process budget. The
// owning connection_memory must outlive it (or detach() it first).
class held_bytes {
  public:
    held_bytes(connection_memory& owner, core::memory_use use);
    held_bytes(held_bytes&& other) noexcept;
    // Takes over `other`'s bytes (of the same connection), giving back its own first.
    held_bytes& operator=(held_bytes&& other) noexcept;
    held_bytes(const held_bytes&) = delete;
    held_bytes& operator=(const held_bytes&) = delete;
    ~held_bytes() { release(); }

    // Holds at least `total` bytes, growing before the buffer does; on a refusal nothing
    // changes and the ceiling that refused is returned.
    [[nodiscard]] memory_refusal reserve(std::size_t total);
    // Holds at most `total` bytes (the buffer shrank or was freed).
    void fit(std::size_t total);
    void release() { fit(0); }
    std::size_t bytes() const { return lease_.bytes(); }
    // The ceiling that refused the last reserve() that failed.
    memory_refusal last_refusal() const { return last_refusal_; }

    // The bytes leave the connection with the buffer they cover (a pull's text handed to the
    // HTTP side, a push held after the close): they stop counting against the connection and
    // stay leased from the process budget through the returned lease.
    core::memory_lease detach();

  private:
    connection_memory* owner_;
    core::memory_use use_;
    core::memory_lease lease_;
    memory_refusal last_refusal_ = memory_refusal::none;
};

}  // namespace mgw::rsocket
