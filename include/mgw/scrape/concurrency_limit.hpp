// Scrape module: a counting semaphore for coroutines bounding the scrapes in flight across all
// fan-outs (config scrape.max_concurrency). Built on a concurrent_channel: a slot is a buffered
// message, so waiting, fairness and per-operation cancellation come from Asio.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/system/error_code.hpp>

namespace mgw::scrape {

class concurrency_limit {
  public:
    // Returns its slot on destruction.
    class permit {
      public:
        permit() = default;
        explicit permit(concurrency_limit* owner) : owner_(owner) {}
        permit(permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
        permit& operator=(permit&& other) noexcept {
            if (this != &other) {
                reset();
                owner_ = std::exchange(other.owner_, nullptr);
            }
            return *this;
        }
        ~permit() { reset(); }
        explicit operator bool() const { return owner_ != nullptr; }
        void reset();

      private:
        concurrency_limit* owner_ = nullptr;
    };

    concurrency_limit(boost::asio::any_io_executor executor, std::size_t slots);

    // Waits for a slot. On cancellation returns an empty permit and sets `ec` to
    // operation_aborted.
    boost::asio::awaitable<permit> acquire(boost::system::error_code& ec);

    std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
    std::size_t capacity() const { return capacity_; }

  private:
    void release();

    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> slots_;
    std::size_t capacity_;
    std::atomic<std::size_t> in_use_{0};
};

}  // namespace mgw::scrape
