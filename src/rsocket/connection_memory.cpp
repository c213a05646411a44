// Per-connection byte accounting over the process memory budget.
#include <mgw/rsocket/connection_memory.hpp>

namespace mgw::rsocket {

namespace {

core::memory_lease empty_lease(core::memory_budget* budget, core::memory_use use) {
    return budget == nullptr ? core::memory_lease() : budget->empty_lease(use);
}

}  // namespace

held_bytes::held_bytes(connection_memory& owner, core::memory_use use)
    : owner_(&owner), use_(use), lease_(empty_lease(owner.budget_, use)) {}

held_bytes::held_bytes(held_bytes&& other) noexcept
    : owner_(other.owner_),
      use_(other.use_),
      lease_(std::move(other.lease_)),
      last_refusal_(other.last_refusal_) {}

held_bytes& held_bytes::operator=(held_bytes&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = other.owner_;
        use_ = other.use_;
        lease_ = std::move(other.lease_);
        last_refusal_ = other.last_refusal_;
    }
    return *this;
}

memory_refusal held_bytes::reserve(std::size_t total) {
    const std::size_t have = lease_.bytes();
    if (total <= have) {
        return memory_refusal::none;
    }
    const std::size_t more = total - have;
    if (owner_->limit_ != 0 && owner_->used_ + more > owner_->limit_) {
        last_refusal_ = memory_refusal::connection;
        return last_refusal_;
    }
    if (!lease_.grow(more)) {
        last_refusal_ = memory_refusal::process;
        return last_refusal_;
    }
    owner_->used_ += more;
    return memory_refusal::none;
}

void held_bytes::fit(std::size_t total) {
    const std::size_t have = lease_.bytes();
    if (total >= have) {
        return;
    }
    lease_.shrink(have - total);
    owner_->used_ -= have - total;
}

core::memory_lease held_bytes::detach() {
    owner_->used_ -= lease_.bytes();
    core::memory_lease out = std::move(lease_);
    lease_ = empty_lease(owner_->budget_, use_);
    return out;
}

}  // namespace mgw::rsocket
