// The budget is one atomic total and one per use, each taken with a compare-and-swap
// reservation (the use's share first, then the whole), so a refusal never leaves bytes
// half-taken.
#include <cstdio>
#include <string>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/core/memory_budget.hpp>

namespace mgw::core {

namespace {

constexpr std::array<std::string_view, memory_use_count> use_names{
    "http_answer", "scrape_bodies",  "rsocket_frames", "rsocket_pushes", "rsocket_pulls",
    "bosh_queues", "request_bodies", "grpc_streams",   "peer_answers",   "loggregator",
};

constexpr std::size_t index_of(memory_use use) {
    return static_cast<std::size_t>(use);
}

}  // namespace

std::string_view to_string(memory_use use) {
    return use_names.at(index_of(use));
}

struct memory_budget::metrics {
    std::array<prometheus::Gauge*, memory_use_count> leased{};
    std::array<prometheus::Counter*, memory_use_count> refusals{};
};

memory_budget::memory_budget(std::size_t limit_bytes) : limit_(limit_bytes) {}

memory_budget::memory_budget(std::size_t limit_bytes, prometheus::Registry& registry)
    : limit_(limit_bytes), metrics_(std::make_unique<metrics>()) {
    prometheus::BuildGauge()
        .Name("mgw_memory_budget_bytes")
        .Help(
            "Bytes that buffers held for clients may take in all (limits.memory less the "
            "baseline and reserve); 0 when there is no ceiling.")
        .Register(registry)
        .Add({})
        .Set(static_cast<double>(limit_bytes));
    auto& leased = prometheus::BuildGauge()
                       .Name("mgw_memory_leased_bytes")
                       .Help("Bytes currently held for clients, by what holds them.")
                       .Register(registry);
    auto& refusals = prometheus::BuildCounter()
                         .Name("mgw_memory_refusals_total")
                         .Help(
                             "Requests for buffer space refused because the memory ceiling "
                             "was reached, by what asked.")
                         .Register(registry);
    for (std::size_t i = 0; i < memory_use_count; ++i) {
        const std::string name(use_names.at(i));
        metrics_->leased.at(i) = &leased.Add({{"use", name}});
        metrics_->refusals.at(i) = &refusals.Add({{"use", name}});
    }
}

memory_budget::~memory_budget() = default;

std::optional<memory_lease> memory_budget::try_lease(memory_use use, std::size_t bytes) {
    if (!acquire(use, bytes)) {
        return std::nullopt;
    }
    return memory_lease(this, use, bytes);
}

std::size_t memory_budget::leased(memory_use use) const {
    return leased_by_use_.at(index_of(use)).load(std::memory_order_relaxed);
}

std::uint64_t memory_budget::refusals(memory_use use) const {
    return refusals_by_use_.at(index_of(use)).load(std::memory_order_relaxed);
}

void memory_budget::limit_use(memory_use use, std::size_t bytes) {
    use_limits_.at(index_of(use)) = bytes;
}

std::size_t memory_budget::use_limit(memory_use use) const {
    const std::size_t own = use_limits_.at(index_of(use));
    return own == 0 || (limit_ != 0 && own > limit_) ? limit_ : own;
}

bool memory_budget::acquire(memory_use use, std::size_t bytes) {
    const std::size_t index = index_of(use);
    if (bytes == 0) {
        return true;
    }
    const auto refuse = [&] {
        refusals_by_use_.at(index).fetch_add(1, std::memory_order_relaxed);
        if (metrics_) {
            metrics_->refusals.at(index)->Increment();
        }
        return false;
    };
    // The use's own share first, then the whole budget; a refusal of the second gives the
    // first back, so nothing stays half-taken.
    std::atomic<std::size_t>& own = leased_by_use_.at(index);
    const std::size_t own_limit = use_limit(use);
    std::size_t held = own.load(std::memory_order_relaxed);
    while (true) {
        const bool fits = own_limit == 0 || (bytes <= own_limit && held <= own_limit - bytes);
        if (!fits) {
            return refuse();
        }
        if (own.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed)) {
            break;
        }
    }
    std::size_t current = leased_.load(std::memory_order_relaxed);
    while (true) {
        const bool fits = limit_ == 0 || (bytes <= limit_ && current <= limit_ - bytes);
        if (!fits) {
            own.fetch_sub(bytes, std::memory_order_relaxed);
            return refuse();
        }
        if (leased_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed)) {
            break;
        }
    }
    if (metrics_) {
        metrics_->leased.at(index)->Increment(static_cast<double>(bytes));
    }
    return true;
}

void memory_budget::release(memory_use use, std::size_t bytes) {
    if (bytes == 0) {
        return;
    }
    const std::size_t index = index_of(use);
    leased_.fetch_sub(bytes, std::memory_order_relaxed);
    leased_by_use_.at(index).fetch_sub(bytes, std::memory_order_relaxed);
    if (metrics_) {
        metrics_->leased.at(index)->Decrement(static_cast<double>(bytes));
    }
}

memory_lease::memory_lease(memory_lease&& other) noexcept
    : budget_(other.budget_), use_(other.use_), bytes_(other.bytes_) {
    other.bytes_ = 0;
}

memory_lease& memory_lease::operator=(memory_lease&& other) noexcept {
    if (this != &other) {
        reset();
        budget_ = other.budget_;
        use_ = other.use_;
        bytes_ = other.bytes_;
        other.bytes_ = 0;
    }
    return *this;
}

memory_lease::~memory_lease() {
    reset();
}

bool memory_lease::grow(std::size_t more) {
    if (budget_ != nullptr && !budget_->acquire(use_, more)) {
        return false;
    }
    bytes_ += more;
    return true;
}

void memory_lease::shrink(std::size_t less) {
    const std::size_t given = less < bytes_ ? less : bytes_;
    if (budget_ != nullptr) {
        budget_->release(use_, given);
    }
    bytes_ -= given;
}

void memory_lease::reset() {
    shrink(bytes_);
}

std::size_t merge_share(std::size_t leasable) {
    return leasable / 4 * 3;
}

std::size_t leasable_bytes(std::size_t ceiling, std::size_t resident_at_start) {
    constexpr std::size_t floor = std::size_t{1} << 20;
    if (ceiling == 0) {
        return 0;
    }
    if (resident_at_start >= ceiling) {
        return floor;
    }
    const std::size_t leasable = (ceiling - resident_at_start) / 4 * 3;
    return leasable < floor ? floor : leasable;
}

std::optional<std::size_t> resident_bytes() {
    std::FILE* file = std::fopen("/proc/self/statm", "r");
    if (file == nullptr) {
        return std::nullopt;
    }
    unsigned long size_pages = 0;
    unsigned long resident_pages = 0;
    const int read = std::fscanf(file, "%lu %lu", &size_pages, &resident_pages);
    std::fclose(file);
    if (read != 2) {
        return std::nullopt;
    }
    const long page = ::sysconf(_SC_PAGESIZE);
    return static_cast<std::size_t>(resident_pages) *
           static_cast<std::size_t>(page > 0 ? page : 4096);
}

}  // namespace mgw::core
