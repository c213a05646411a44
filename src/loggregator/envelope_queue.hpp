// Loggregator module: the bounded queue between the producers (push handlers, the HM ingest,
// on any thread) and the emitter (one strand). Envelopes arrive already encoded, in parcels of
// one producer call each; the emitter takes them as BatchSender messages. The bound is in bytes
// (loggregator.queue_bytes) and every byte is leased from the process memory budget first; what
// does not fit is dropped at once and counted by source and reason.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/connection.hpp>

namespace mgw::loggregator {

using clock = std::chrono::steady_clock;

// Where envelopes come from: the `source` label of the emitter's metrics.
enum class envelope_source : std::uint8_t { push, bosh };
inline constexpr std::size_t source_count = 2;
std::string_view to_string(envelope_source source);

// Why envelopes were dropped: the `reason` label.
enum class drop_reason : std::uint8_t {
    queue_full,  // loggregator.queue_bytes reached (the agent is down or slower than the input)
    memory,      // limits.memory reached
    shutdown,    // still queued when the drain timeout ended
};
inline constexpr std::size_t drop_reason_count = 3;
std::string_view to_string(drop_reason reason);

// Envelopes of one producer call, encoded as EnvelopeBatch entries back to back.
struct parcel {
    envelope_source source = envelope_source::push;
    std::string bytes;
    std::vector<std::uint32_t> sizes;  // bytes of each entry, in order

    std::size_t count() const { return sizes.size(); }
    void add(std::size_t entry_bytes) { sizes.push_back(static_cast<std::uint32_t>(entry_bytes)); }
};

// One BatchSender message: the gRPC prefix and an EnvelopeBatch, and what it carries. Shared
// with the connection core while it is being written (outgoing_message::owner). The entries are
// not copied out of the parcels: the batch holds the parcels' bytes it takes entries from and
// points into them, and the connection writes them into its DATA frames piece by piece.
struct batch {
    std::array<char, 5> prefix{};                            // grpc::message_prefix_bytes
    std::vector<std::shared_ptr<const std::string>> owners;  // the parcels' bytes it points into
    std::vector<std::string_view> pieces;  // the prefix, then runs of whole entries
    std::size_t entries_size = 0;          // bytes of the EnvelopeBatch
    std::array<std::uint32_t, source_count> envelopes{};

    std::size_t entry_bytes() const { return entries_size; }
    std::uint32_t count() const;
    // The message as the connection writes it.
    grpc::outgoing_message message(std::shared_ptr<const batch> self) const;
    // The message's bytes in one string (for tests).
    std::string framed() const;
};

struct queue_options {
    std::size_t max_bytes = std::size_t{8} << 20;
    // A producer that brings the queue to this many envelopes (a full batch) wakes the emitter.
    std::size_t wake_envelopes = 100;
};

class envelope_queue {
  public:
    // `budget` must outlive the queue.
    envelope_queue(queue_options options, core::memory_budget& budget);
    ~envelope_queue();
    envelope_queue(const envelope_queue&) = delete;
    envelope_queue& operator=(const envelope_queue&) = delete;

    // Any thread. Keeps the longest prefix of `p` that fits the bound and the budget, drops the
    // rest (counted). True when the emitter should be woken: the queue was empty (its batch
    // timer starts) or now holds a full batch.
    bool push(parcel&& p, clock::time_point now);

    // Any thread. False when the queue has less than `bytes` of room left (a racy look, for
    // producers that would rather not encode what would be dropped).
    bool has_room(std::size_t bytes) const { return held_bytes() + bytes <= options_.max_bytes; }
    // Any thread. `count` envelopes the producer did not encode because the queue had no room:
    // offered and dropped (queue_full).
    void refuse(envelope_source source, std::size_t count);

    // --- the emitter's side (one strand) ---

    // Up to `max_envelopes` (at least one, however large) and about `max_bytes` of the oldest
    // envelopes as one message; null when nothing is queued. Its bytes stay held (leased and
    // counted against the bound) until release() or drop().
    std::shared_ptr<batch> take_batch(std::size_t max_envelopes, std::size_t max_bytes);
    // The batch went to the transport, whose own lease now covers it.
    void release(const batch& b);
    // It came back unwritten and is held again; false (and dropped for `memory`) when the
    // budget refuses its bytes.
    bool reacquire(const batch& b);
    // A held batch is given up.
    void drop(const batch& b, drop_reason reason);
    // A batch already released (in the transport) is lost: counted only.
    void count_lost(const batch& b, drop_reason reason);
    // Everything queued (not held batches) is dropped; returns how many envelopes.
    std::size_t drop_queued(drop_reason reason);

    std::size_t queued_envelopes() const;
    // When the oldest queued envelope arrived; nullopt when none is queued.
    std::optional<clock::time_point> oldest() const;

    // Any thread.
    std::size_t held_bytes() const { return held_bytes_.load(std::memory_order_relaxed); }
    std::size_t held_envelopes() const { return held_envelopes_.load(std::memory_order_relaxed); }
    std::uint64_t offered(envelope_source source) const;
    std::uint64_t dropped(envelope_source source, drop_reason reason) const;
    const queue_options& options() const { return options_; }

  private:
    struct stored;

    void count_drop(envelope_source source, drop_reason reason, std::uint64_t n);
    void update_gauges();  // under mutex_

    queue_options options_;
    mutable std::mutex mutex_;
    std::deque<stored> parcels_;
    std::size_t bytes_ = 0;             // queued entries and held batches
    std::size_t queued_envelopes_ = 0;  // queued entries only
    std::size_t batch_envelopes_ = 0;   // in held batches
    core::memory_lease lease_;
    std::atomic<std::size_t> held_bytes_{0};
    std::atomic<std::size_t> held_envelopes_{0};
    std::array<std::atomic<std::uint64_t>, source_count> offered_{};
    std::array<std::array<std::atomic<std::uint64_t>, drop_reason_count>, source_count> dropped_{};
};

}  // namespace mgw::loggregator
