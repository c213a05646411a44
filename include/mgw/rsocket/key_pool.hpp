// RSocket module: the RSA key pairs of the proxy's connections. Worker threads (one per core by
// default) make key pairs ahead of demand, off the I/O threads; key_schedule decides who gets
// which. A connection that must wait is handed its key later through its own delivery function
// (which posts onto the connection's strand); one whose peer left cancels its request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include <mgw/core/log.hpp>
#include <mgw/rsocket/crypto.hpp>
#include <mgw/rsocket/key_schedule.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::rsocket {

struct key_pool_options {
    int bits = 2048;
    std::size_t threads = 0;  // 0: one per core
    key_schedule_options schedule;
};

// The unit of fairness among waiting connections: an IPv4 address (an IPv4-mapped IPv6 one
// included), or the /64 prefix of an IPv6 address (what one host is usually given).
std::string fairness_key(const boost::asio::ip::address& address);

class key_pool {
  public:
    // Called at most once per queued request, on a worker thread with no lock held: it must only
    // hand the key over (post it to the connection's strand), never block.
    using delivery = std::function<void(key_pair)>;

    struct grant {
        key_grant kind = key_grant::refused;
        std::optional<key_pair> key;  // fresh: the key, at once
        std::uint64_t ticket = 0;     // queued: what cancel() takes
    };

    // Starts the workers, which fill the stock at once. Throws std::system_error when no thread
    // can be started (start-up only).
    key_pool(key_pool_options options, prometheus::Registry& registry, core::logger& log);
    ~key_pool();
    key_pool(const key_pool&) = delete;
    key_pool& operator=(const key_pool&) = delete;

    // A connection from `address` (see fairness_key) asks for its key pair. Never blocks on
    // key generation; `deliver` is kept only when the answer is `queued`.
    grant request(std::string_view address, delivery deliver);
    // The peer of a queued request left; no-op when its key is already on the way.
    void cancel(std::uint64_t ticket);
    // Ends the workers (a key pair being made is finished first); queued requests are dropped
    // undelivered. Idempotent; the destructor calls it.
    void stop();

  private:
    struct metrics;
    using schedule = key_schedule<key_pair, delivery>;

    void work();
    void update_gauges();

    key_pool_options options_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
    std::mutex mutex_;  // guards schedule_ and stopping_
    std::condition_variable wake_;
    schedule schedule_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace mgw::rsocket
