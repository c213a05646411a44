// The process-wide ceiling on the bytes the gateway holds on behalf of its clients
// (`limits.memory`): every buffer whose size a peer decides (an answer in flight, the instance
// bodies of a merge, a partial RSocket frame, a pushed exposition, an event queue) is leased
// from one budget before it is filled, so that no mix of clients can push RSS past the ceiling.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace mgw::core {

// Who holds leased bytes. A fixed set: it is the `use` label of the budget's metrics, so no
// client can add series to /metrics through it.
enum class memory_use : std::uint8_t {
    http_answer,     // a response body being produced or written
    scrape_bodies,   // instance bodies and their parsed series during a merge
    rsocket_frames,  // partial and reassembled RSocket frames
    rsocket_pushes,  // expositions pushed on close, held until served
    rsocket_pulls,   // decrypted and decompressed pull replies
    bosh_queues,     // HM events queued for subscriptions
    request_bodies,  // request bodies being read (push, broker)
    grpc_streams,    // HTTP/2 stream buffers and send queues
    peer_answers,    // answers gathered from other nodes
    loggregator,     // envelopes waiting for the Loggregator agent
};

inline constexpr std::size_t memory_use_count = 10;

// "http_answer", "scrape_bodies", ...
std::string_view to_string(memory_use use);

class memory_budget;

// Bytes held against a budget, given back when the lease is destroyed or reset. Movable, not
// copyable. A lease may grow (when the ceiling allows) and shrink while it is held; an empty
// lease holds nothing and can still grow.
class memory_lease {
  public:
    memory_lease() = default;
    memory_lease(memory_lease&& other) noexcept;
    memory_lease& operator=(memory_lease&& other) noexcept;
    memory_lease(const memory_lease&) = delete;
    memory_lease& operator=(const memory_lease&) = delete;
    ~memory_lease();

    // Holds `more` bytes more, or nothing more and false when that would pass the ceiling (the
    // refusal is counted). A lease without a budget (default-constructed) always grows.
    [[nodiscard]] bool grow(std::size_t more);
    // Gives back up to `less` bytes now.
    void shrink(std::size_t less);
    // Gives back everything now; the lease stays attached to its budget and may grow again.
    void reset();

    std::size_t bytes() const { return bytes_; }

  private:
    friend class memory_budget;
    memory_lease(memory_budget* budget, memory_use use, std::size_t bytes)
        : budget_(budget), use_(use), bytes_(bytes) {}

    memory_budget* budget_ = nullptr;
    memory_use use_ = memory_use::http_answer;
    std::size_t bytes_ = 0;
};

// Thread-safe (atomics only): leases are taken and returned on any of the loop's threads.
// Must outlive every lease taken from it.
class memory_budget {
  public:
    // `limit_bytes` 0: no ceiling, everything is still accounted (for the gauges).
    explicit memory_budget(std::size_t limit_bytes);
    // Also registers mgw_memory_budget_bytes, mgw_memory_leased_bytes{use} and
    // mgw_memory_refusals_total{use} in `registry`.
    memory_budget(std::size_t limit_bytes, prometheus::Registry& registry);
    memory_budget(const memory_budget&) = delete;
    memory_budget& operator=(const memory_budget&) = delete;
    ~memory_budget();

    // A lease of `bytes`, or nullopt when that would pass the ceiling (counted per use).
    std::optional<memory_lease> try_lease(memory_use use, std::size_t bytes);
    // A lease of nothing that grows as its holder fills a buffer.
    memory_lease empty_lease(memory_use use) { return memory_lease(this, use, 0); }

    // The most `use` may hold (default: the whole budget). A share below the whole keeps the
    // rest for every other use: clients of one kind (non-reading clients of big merges) then
    // meet their own refusals while health checks, pushes and small requests still find room.
    // Set before leases are taken (not synchronised).
    void limit_use(memory_use use, std::size_t bytes);
    std::size_t use_limit(memory_use use) const;

    std::size_t limit() const { return limit_; }
    std::size_t leased() const { return leased_.load(std::memory_order_relaxed); }
    std::size_t leased(memory_use use) const;
    std::uint64_t refusals(memory_use use) const;

  private:
    friend class memory_lease;
    bool acquire(memory_use use, std::size_t bytes);
    void release(memory_use use, std::size_t bytes);

    struct metrics;

    std::size_t limit_;
    std::atomic<std::size_t> leased_{0};
    std::array<std::atomic<std::size_t>, memory_use_count> leased_by_use_{};
    std::array<std::size_t, memory_use_count> use_limits_{};  // 0: the whole budget
    std::array<std::atomic<std::uint64_t>, memory_use_count> refusals_by_use_{};
    std::unique_ptr<metrics> metrics_;  // null without a registry
};

// The most the instance bodies of merges (memory_use::scrape_bodies) may hold of a budget of
// `leasable` bytes: three quarters, so that a quarter always stays for every other client (see
// memory_budget::limit_use). 0 (no ceiling) stays 0.
std::size_t merge_share(std::size_t leasable);

// The share of `limits.memory` that leases may take: the ceiling less what the process holds
// before any client arrives (`resident_at_start`), of which a quarter is kept back for what is
// not leased (connections, coroutine frames, TLS state, allocator slack). 0 when `ceiling` is 0
// (no limit); at least 1 MiB otherwise, so that a ceiling below the baseline still refuses
// rather than failing open.
std::size_t leasable_bytes(std::size_t ceiling, std::size_t resident_at_start);

// The process's resident set size from /proc/self/statm, or nullopt where it cannot be read.
std::optional<std::size_t> resident_bytes();

}  // namespace mgw::core
