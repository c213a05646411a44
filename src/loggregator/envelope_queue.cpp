// The queue is a deque of parcels with a read position in the front one; a batch takes whole
// entries out of it by reference (it shares the parcels' bytes). One mutex: producers hold it
// for a bound check and a move, the emitter while it notes which entries a batch takes.
#include "envelope_queue.hpp"

#include <algorithm>
#include <span>
#include <tuple>

#include <mgw/grpc/message_framing.hpp>

namespace mgw::loggregator {

namespace {

constexpr std::array<std::string_view, source_count> source_names{"push", "bosh"};
constexpr std::array<std::string_view, drop_reason_count> reason_names{"queue_full", "memory",
                                                                       "shutdown"};

constexpr std::size_t index(envelope_source s) {
    return static_cast<std::size_t>(s);
}
constexpr std::size_t index(drop_reason r) {
    return static_cast<std::size_t>(r);
}

}  // namespace

std::string_view to_string(envelope_source source) {
    return source_names.at(index(source));
}

std::string_view to_string(drop_reason reason) {
    return reason_names.at(index(reason));
}

static_assert(std::tuple_size_v<decltype(batch::prefix)> == grpc::message_prefix_bytes);

grpc::outgoing_message batch::message(std::shared_ptr<const batch> self) const {
    return grpc::outgoing_message{std::move(self), pieces.front(), std::span(pieces).subspan(1)};
}

std::string batch::framed() const {
    std::string out;
    for (std::string_view piece : pieces) {
        out += piece;
    }
    return out;
}

std::uint32_t batch::count() const {
    std::uint32_t n = 0;
    for (std::uint32_t e : envelopes) {
        n += e;
    }
    return n;
}

struct envelope_queue::stored {
    envelope_source source;
    std::shared_ptr<const std::string> bytes;  // shared with the batches taking from it
    std::vector<std::uint32_t> sizes;
    clock::time_point arrived;
    std::size_t next = 0;    // first entry not taken yet
    std::size_t offset = 0;  // its position in bytes
};

envelope_queue::envelope_queue(queue_options options, core::memory_budget& budget)
    : options_(options), lease_(budget.empty_lease(core::memory_use::loggregator)) {}

envelope_queue::~envelope_queue() = default;

void envelope_queue::count_drop(envelope_source source, drop_reason reason, std::uint64_t n) {
    if (n > 0) {
        dropped_[index(source)][index(reason)].fetch_add(n, std::memory_order_relaxed);
    }
}

void envelope_queue::update_gauges() {
    held_bytes_.store(bytes_, std::memory_order_relaxed);
    held_envelopes_.store(queued_envelopes_ + batch_envelopes_, std::memory_order_relaxed);
}

void envelope_queue::refuse(envelope_source source, std::size_t count) {
    offered_[index(source)].fetch_add(count, std::memory_order_relaxed);
    count_drop(source, drop_reason::queue_full, count);
}

bool envelope_queue::push(parcel&& p, clock::time_point now) {
    const std::size_t total = p.count();
    if (total == 0) {
        return false;
    }
    offered_[index(p.source)].fetch_add(total, std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    const std::size_t room = options_.max_bytes > bytes_ ? options_.max_bytes - bytes_ : 0;
    std::size_t keep = 0;
    std::size_t keep_bytes = 0;
    while (keep < total && keep_bytes + p.sizes[keep] <= room) {
        keep_bytes += p.sizes[keep];
        ++keep;
    }
    count_drop(p.source, drop_reason::queue_full, total - keep);
    if (keep == 0) {
        return false;
    }
    if (!lease_.grow(keep_bytes)) {
        count_drop(p.source, drop_reason::memory, keep);
        return false;
    }
    if (keep < total) {
        p.sizes.resize(keep);
        p.bytes.resize(keep_bytes);
    }
    const std::size_t before = queued_envelopes_;
    bytes_ += keep_bytes;
    queued_envelopes_ += keep;
    parcels_.push_back(stored{p.source, std::make_shared<const std::string>(std::move(p.bytes)),
                              std::move(p.sizes), now});
    update_gauges();
    return before == 0 ||
           (before < options_.wake_envelopes && queued_envelopes_ >= options_.wake_envelopes);
}

std::shared_ptr<batch> envelope_queue::take_batch(std::size_t max_envelopes,
                                                  std::size_t max_bytes) {
    const std::lock_guard lock(mutex_);
    if (queued_envelopes_ == 0) {
        return nullptr;
    }
    // How much: whole entries, at least one.
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (const stored& s : parcels_) {
        for (std::size_t i = s.next; i < s.sizes.size() && count < max_envelopes; ++i) {
            const std::size_t size = s.sizes[i];
            if (count > 0 && bytes + size > max_bytes) {
                max_envelopes = count;  // stop both loops
                break;
            }
            bytes += size;
            ++count;
        }
        if (count >= max_envelopes) {
            break;
        }
    }
    auto out = std::make_shared<batch>();
    grpc::write_message_prefix(out->prefix.data(), static_cast<std::uint32_t>(bytes));
    out->entries_size = bytes;
    out->pieces.emplace_back(out->prefix.data(), out->prefix.size());
    std::size_t left = count;
    while (left > 0) {
        stored& s = parcels_.front();
        const std::size_t from = s.offset;
        std::size_t n = 0;
        while (left > 0 && s.next < s.sizes.size()) {
            s.offset += s.sizes[s.next];
            ++s.next;
            ++n;
            --left;
        }
        out->pieces.push_back(std::string_view(*s.bytes).substr(from, s.offset - from));
        out->envelopes[index(s.source)] += static_cast<std::uint32_t>(n);
        if (s.next == s.sizes.size()) {
            out->owners.push_back(std::move(s.bytes));
            parcels_.pop_front();
        } else {
            out->owners.push_back(s.bytes);
        }
    }
    queued_envelopes_ -= count;
    batch_envelopes_ += count;
    update_gauges();
    return out;
}

void envelope_queue::release(const batch& b) {
    const std::lock_guard lock(mutex_);
    const std::size_t bytes = std::min(b.entry_bytes(), bytes_);
    bytes_ -= bytes;
    lease_.shrink(bytes);
    batch_envelopes_ -= std::min<std::size_t>(b.count(), batch_envelopes_);
    update_gauges();
}

bool envelope_queue::reacquire(const batch& b) {
    const std::lock_guard lock(mutex_);
    if (!lease_.grow(b.entry_bytes())) {
        count_lost(b, drop_reason::memory);
        return false;
    }
    // Over the bound if new envelopes filled the queue meanwhile: these were accepted first.
    bytes_ += b.entry_bytes();
    batch_envelopes_ += b.count();
    update_gauges();
    return true;
}

void envelope_queue::drop(const batch& b, drop_reason reason) {
    count_lost(b, reason);
    release(b);
}

void envelope_queue::count_lost(const batch& b, drop_reason reason) {
    for (std::size_t s = 0; s < source_count; ++s) {
        count_drop(static_cast<envelope_source>(s), reason, b.envelopes[s]);
    }
}

std::size_t envelope_queue::drop_queued(drop_reason reason) {
    const std::lock_guard lock(mutex_);
    std::size_t dropped = 0;
    std::size_t bytes = 0;
    for (const stored& s : parcels_) {
        const std::size_t n = s.sizes.size() - s.next;
        count_drop(s.source, reason, n);
        dropped += n;
        bytes += s.bytes->size() - s.offset;
    }
    parcels_.clear();
    bytes_ -= std::min(bytes, bytes_);
    lease_.shrink(bytes);
    queued_envelopes_ = 0;
    update_gauges();
    return dropped;
}

std::size_t envelope_queue::queued_envelopes() const {
    const std::lock_guard lock(mutex_);
    return queued_envelopes_;
}

std::optional<clock::time_point> envelope_queue::oldest() const {
    const std::lock_guard lock(mutex_);
    if (parcels_.empty()) {
        return std::nullopt;
    }
    return parcels_.front().arrived;
}

std::uint64_t envelope_queue::offered(envelope_source source) const {
    return offered_[index(source)].load(std::memory_order_relaxed);
}

std::uint64_t envelope_queue::dropped(envelope_source source, drop_reason reason) const {
    return dropped_[index(source)][index(reason)].load(std::memory_order_relaxed);
}

}  // namespace mgw::loggregator
