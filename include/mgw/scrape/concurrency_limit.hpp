// Scrape module: a counting semaphore for coroutines bounding the scrapes in flight across all
// fan-outs (config scrape.max_concurrency). Built on a concurrent_channel: a slot is a buffered
// message, so waiting, fairness and per-operation cancellation come from Asio.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/system/error_code.hpp>

namespace mgw::scrape {

class concurrency_limit {
    struct shared;

  public:
    // Returns its slot on destruction. A permit keeps the limiter's state alive, so a
    // coroutine frame destroyed after its scraper (io_context shutdown) releases safely.
    class permit {
      public:
        permit() = default;
        explicit permit(std::shared_ptr<shared> owner) : owner_(std::move(owner)) {}
        permit(permit&&) noexcept = default;
        permit& operator=(permit&& other) noexcept {
            if (this != &other) {
                reset();
                owner_ = std::move(other.owner_);
            }
            return *this;
        }
        ~permit() { reset(); }
        explicit operator bool() const { return owner_ != nullptr; }
        void reset();

      private:
        std::shared_ptr<shared> owner_;
    };

    concurrency_limit(boost::asio::any_io_executor executor, std::size_t slots);

    // Waits for a slot. On cancellation returns an empty permit and sets `ec` to
    // operation_aborted.
    boost::asio::awaitable<permit> acquire(boost::system::error_code& ec);

    std::size_t in_use() const;
    std::size_t capacity() const;

  private:
    std::shared_ptr<shared> shared_;
};

}  // namespace mgw::scrape
