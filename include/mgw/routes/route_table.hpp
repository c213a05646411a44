// Routes module: the route table fed by gorouter register/unregister messages and static routes,
// with gorouter's pruning rules. Writers use one strand; readers take immutable snapshots.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <mgw/routes/endpoint.hpp>
#include <mgw/routes/registry_message.hpp>
#include <mgw/routes/route_snapshot.hpp>

namespace mgw::routes {

struct route_table_options {
    // gorouter's droplet_stale_threshold: the default per-endpoint threshold and its cap.
    std::chrono::seconds max_stale_threshold{120};
};

// A fixed route from the configuration (`routes.static`).
struct static_route {
    std::string uri;
    std::string host;
    std::uint16_t port = 0;
    std::uint16_t tls_port = 0;
    std::string server_cert_domain_san;
    std::string private_instance_id;
    std::map<std::string, std::string> tags;
};

// What one message did, for the subscriber's counters.
struct update_result {
    std::size_t added = 0;           // (route key, address) pairs new to the table
    std::size_t updated = 0;         // replaced because some field changed
    std::size_t refreshed = 0;       // unchanged: only the last-seen time moved
    std::size_t removed = 0;         // unregister hits
    std::size_t skipped_static = 0;  // static routes are not touched by NATS
    // Unregister naming another private_instance_id than the endpoint at that address has.
    std::size_t skipped_other_instance = 0;
    bool has_app_id = false;
    // Non-empty when the message could not apply at all: "no host", "no port", "no uris".
    std::string_view rejected;
};

// Not thread-safe except snapshot(): every other member must be called from the same strand.
class route_table {
  public:
    explicit route_table(route_table_options options = {});

    update_result register_endpoint(const registry_message& message, route_clock::time_point now);
    update_result unregister_endpoint(const registry_message& message);

    // Startup only: throws std::invalid_argument for a route with no uri, host or port.
    void add_static(const static_route& route, route_clock::time_point now);

    // Drops non-TLS, non-static endpoints not seen for longer than their threshold, and empty
    // route keys. Does nothing while pruning is suspended. Returns the number of pairs removed.
    std::size_t prune(route_clock::time_point now);

    // gorouter's suspend_pruning_if_nats_unavailable: while NATS is down nobody can refresh
    // routes, so time must not expire them; on resume every endpoint counts as just seen.
    void suspend_pruning() { pruning_suspended_ = true; }
    void resume_pruning(route_clock::time_point now);
    bool pruning_suspended() const { return pruning_suspended_; }

    // Makes pending changes visible to readers (rebuilds the indexes only when something
    // changed) and returns the current snapshot.
    std::shared_ptr<const route_snapshot> publish();
    // Safe from any thread; never waits for more than another reader's pointer copy.
    std::shared_ptr<const route_snapshot> snapshot() const;

    std::size_t endpoint_count() const { return endpoint_count_; }
    bool dirty() const { return dirty_; }

  private:
    using pool = std::map<std::string, endpoint_ptr>;  // by address

    std::chrono::seconds effective_threshold(std::int64_t requested_seconds) const;
    void insert(const std::string& key, const endpoint_ptr& e, route_clock::time_point now,
                update_result& result);

    route_table_options options_;
    std::map<std::string, pool> pools_;
    std::size_t endpoint_count_ = 0;
    bool pruning_suspended_ = false;
    bool dirty_ = true;
    // Not std::atomic<std::shared_ptr>: libstdc++ 12 releases its internal lock with a relaxed
    // store after load() reads the pointer, which ThreadSanitizer flags and weakly ordered CPUs
    // may reorder. The mutex only guards a pointer copy.
    mutable std::mutex snapshot_mutex_;
    std::shared_ptr<const route_snapshot> snapshot_;
};

}  // namespace mgw::routes
