// Coroutine semaphore on a concurrent_channel: acquiring a slot sends one message into the
// channel's buffer (waiting when it is full), releasing takes one out.
#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/scrape/concurrency_limit.hpp>

namespace mgw::scrape {

concurrency_limit::concurrency_limit(boost::asio::any_io_executor executor, std::size_t slots)
    : slots_(executor, std::max<std::size_t>(slots, 1)),
      capacity_(std::max<std::size_t>(slots, 1)) {}

boost::asio::awaitable<concurrency_limit::permit> concurrency_limit::acquire(
    boost::system::error_code& ec) {
    boost::system::error_code error;
    co_await slots_.async_send(boost::system::error_code{},
                               boost::asio::redirect_error(boost::asio::use_awaitable, error));
    // Callers see the usual Asio spelling of "cancelled", not the channel's own.
    ec = error == boost::asio::experimental::error::channel_cancelled
             ? make_error_code(boost::asio::error::operation_aborted)
             : error;
    if (error) {
        co_return permit{};
    }
    in_use_.fetch_add(1, std::memory_order_relaxed);
    co_return permit{this};
}

void concurrency_limit::release() {
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    // Frees one buffer place; a waiting sender, if any, moves into it.
    slots_.try_receive([](boost::system::error_code) {});
}

void concurrency_limit::permit::reset() {
    if (owner_ != nullptr) {
        std::exchange(owner_, nullptr)->release();
    }
}

}  // namespace mgw::scrape
