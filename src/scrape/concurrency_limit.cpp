// Coroutine semaphore on a concurrent_channel: acquiring a slot sends one message into the
// channel's buffer (waiting when it is full), releasing takes one out.
#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/scrape/concurrency_limit.hpp>

namespace mgw::scrape {

struct concurrency_limit::shared {
    shared(boost::asio::any_io_executor executor, std::size_t slots)
        : channel(std::move(executor), slots), capacity(slots) {}

    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
    std::size_t capacity;
    std::atomic<std::size_t> in_use{0};
};

concurrency_limit::concurrency_limit(boost::asio::any_io_executor executor, std::size_t slots)
    : shared_(std::make_shared<shared>(std::move(executor), std::max<std::size_t>(slots, 1))) {}

std::size_t concurrency_limit::in_use() const {
    return shared_->in_use.load(std::memory_order_relaxed);
}

std::size_t concurrency_limit::capacity() const {
    return shared_->capacity;
}

boost::asio::awaitable<concurrency_limit::permit> concurrency_limit::acquire(
    boost::system::error_code& ec) {
    // Keeps the state alive while this coroutine waits, whatever happens to *this.
    std::shared_ptr<shared> state = shared_;
    boost::system::error_code error;
    co_await state->channel.async_send(
        boost::system::error_code{},
        boost::asio::redirect_error(boost::asio::use_awaitable, error));
    // Callers see the usual Asio spelling of "cancelled", not the channel's own.
    ec = error == boost::asio::experimental::error::channel_cancelled
             ? make_error_code(boost::asio::error::operation_aborted)
             : error;
    if (error) {
        co_return permit{};
    }
    state->in_use.fetch_add(1, std::memory_order_relaxed);
    co_return permit{std::move(state)};
}

void concurrency_limit::permit::reset() {
    if (owner_ == nullptr) {
        return;
    }
    const std::shared_ptr<shared> owner = std::move(owner_);
    owner->in_use.fetch_sub(1, std::memory_order_relaxed);
    // Frees one buffer place; a waiting sender, if any, moves into it.
    owner->channel.try_receive([](boost::system::error_code) {});
}

}  // namespace mgw::scrape
