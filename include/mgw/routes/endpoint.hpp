// Routes module: one app instance (or static target) reachable under a route, as held by the
// route table and handed to readers through immutable snapshots.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mgw::routes {

// Pruning runs on the monotonic clock: wall-clock jumps must not expire a whole table.
using route_clock = std::chrono::steady_clock;

struct endpoint {
    std::string address;  // host:tls_port when TLS, else host:port
    std::string host;
    std::uint16_t port = 0;  // the port in `address`
    bool tls = false;
    std::string app;
    std::string private_instance_id;
    std::string private_instance_index;
    std::string server_cert_domain_san;
    std::string route_service_url;
    std::string isolation_segment;
    std::string protocol;
    std::string availability_zone;
    std::string load_balancing;
    std::map<std::string, std::string> tags;
    std::chrono::seconds stale_threshold{0};  // already capped by the table's maximum
    std::int64_t endpoint_updated_at_ns = 0;  // emitter's wall clock, informative only
    bool static_route = false;                // from config: never pruned, never replaced by NATS

    // Re-registering an unchanged endpoint only moves this, so readers holding a snapshot see
    // the refresh without the table being rebuilt.
    mutable std::atomic<route_clock::rep> last_seen{0};

    // Empty when the tag is absent.
    std::string_view tag(std::string_view key) const;

    route_clock::time_point last_seen_at() const {
        return route_clock::time_point(
            route_clock::duration(last_seen.load(std::memory_order_relaxed)));
    }
    void touch(route_clock::time_point now) const {
        last_seen.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }

    // Same backend and same data; the refresh time is not compared.
    bool same_registration(const endpoint& other) const;
};

}  // namespace mgw::routes
