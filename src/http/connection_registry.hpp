// HTTP server module (internal): the set of open connections of one server, so that a drain
// can reach each of them and learn when the last one is gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>

namespace mgw::http {

// What the server may ask of a connection; both calls are thread-safe (they post to the
// connection's strand).
class connection_base {
  public:
    virtual ~connection_base() = default;
    // Close now if idle, otherwise after the response in progress.
    virtual void drain() = 0;
    // total: cancel the running handler (which may wrap up), close if no handler runs;
    // terminal: cancel the handler and close the connection at once.
    virtual void cancel(boost::asio::cancellation_type type) = 0;
};

class connection_registry {
  public:
    // Returns the id to remove with, and whether a drain is already under way (the connection
    // then closes after its first response).
    std::uint64_t add(std::weak_ptr<connection_base> connection, bool& draining);
    void remove(std::uint64_t id);
    std::size_t size() const;

    // Marks the registry as draining and returns the connections open now.
    std::vector<std::shared_ptr<connection_base>> begin_drain();
    std::vector<std::shared_ptr<connection_base>> snapshot() const;

    // `waiter` is cancelled (on its own executor) whenever the last connection goes away.
    void notify_empty(std::shared_ptr<boost::asio::steady_timer> waiter);

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection_base>> connections_;
    std::uint64_t next_id_ = 1;
    bool draining_ = false;
    std::shared_ptr<boost::asio::steady_timer> empty_waiter_;
};

}  // namespace mgw::http
