// Scrape module: idle keep-alive connections per endpoint, reused across requests (Promfetcher
// opened a new transport per scrape, see its bug 4). A connection is owned by exactly one
// request while in use: acquire() takes it out, release() puts it back.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <mgw/scrape/connection.hpp>

namespace mgw::scrape {

struct pool_limits {
    std::size_t max_idle_per_endpoint = 4;
    std::size_t max_idle_total = 1024;
    // Below the usual server idle timeouts (Go's http.Server: none, nginx: 75 s, envoy: 1 h)
    // so we rarely write into a connection the server is closing.
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(30);
};

// Thread-safe; the mutex is never held across I/O (closing happens after unlocking).
class connection_pool {
  public:
    using clock = std::chrono::steady_clock;

    explicit connection_pool(pool_limits limits = {}) : limits_(limits) {}

    // The most recently used idle connection for `key` that has not expired, or null.
    std::unique_ptr<connection> acquire(const endpoint_key& key, clock::time_point now);
    // Keeps `conn` for reuse unless that would exceed a limit; returns whether it was kept.
    bool release(const endpoint_key& key, std::unique_ptr<connection> conn, clock::time_point now);
    // Drops every connection idle for longer than idle_timeout.
    void sweep(clock::time_point now);

    std::size_t idle_count() const;

  private:
    using idle_list = std::vector<std::unique_ptr<connection>>;

    bool expired(const connection& conn, clock::time_point now) const {
        return now - conn.idle_since_ >= limits_.idle_timeout;
    }

    pool_limits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<endpoint_key, idle_list, endpoint_key_hash> idle_;
    std::size_t idle_total_ = 0;
};

}  // namespace mgw::scrape
