// Cluster module: the NATS shell of shared broker bindings — the JetStream key-value bucket
// `mgw_<name>_bindings` through nats.c 3.4.1. Every KV call of that version is a blocking
// request (and its watch a blocking read), so none of them may run on the Asio loop (cluster.md
// §4.4): this shell owns a second, thread-driven nats.c connection, a writer thread that runs the
// writes one at a time (with retry across a stream-leader change) and a watch thread that reads
// the bucket's changes. Results and changes leave through callbacks on those threads: the owner
// posts them to its strand. Decisions (keys, records, verdicts) are in binding_records.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

#include "binding_records.hpp"

namespace mgw::cluster {

struct binding_kv_options {
    // Servers, credentials and TLS: the cluster's NATS (the top-level `nats` block).
    nats::client_options connection;
    std::string bucket;  // bindings_bucket(cluster name)
    // R3 when the operator's JetStream has three or more servers (cluster.md §2c).
    int replicas = 1;
    // A write that meets no JetStream answer is retried with backoff this long (a stream-leader
    // change takes about a second), then reported unavailable (the broker answers 503).
    std::chrono::milliseconds retry_for{std::chrono::milliseconds(1500)};
};

struct kv_write_result {
    enum class status {
        done,         // written: `revision`
        exists,       // create met a live record: `stored` (its value) at `revision`
        absent,       // get or modify: no live record under the key
        unavailable,  // no JetStream answer within retry_for (or not opened)
        failed        // refused for another reason (`error`)
    };
    status outcome = status::unavailable;
    std::uint64_t revision = 0;
    std::string stored;
    std::string error;
};

class binding_kv {
  public:
    binding_kv(binding_kv_options options, core::logger& log);
    // Stops both threads and closes the connection.
    ~binding_kv();
    binding_kv(const binding_kv&) = delete;
    binding_kv& operator=(const binding_kv&) = delete;

    // Blocking (call it off the loop): connects, then opens the bucket, creating it (file
    // storage, History 5, no TTL) when missing. False with `error` when JetStream does not
    // answer within `timeout` (store `auto` then stays local).
    bool open(std::chrono::milliseconds timeout, std::string& error);

    // Starts the watch thread: every change of the bucket (the last value of each key first)
    // goes to `on_change` on that thread; `on_synced` once the initial values are through.
    // After a lost connection the watch restarts and replays the last values (the replica
    // drops them as stale). After open().
    void watch(std::function<void(kv_change)> on_change, std::function<void()> on_synced);

    // Writes, run one at a time on the writer thread; `done` is called there.
    using completion = std::function<void(kv_write_result)>;
    void create(std::string key, std::string value, completion done);
    // Compare-and-set on the revision the writer last saw (a forwarder key rotation).
    void update(std::string key, std::string value, std::uint64_t last_revision, completion done);
    void remove(std::string key, completion done);
    // Reads the key: `done` with its value in `stored` at `revision`, or `absent`.
    void get(std::string key, completion done);
    // A versioned change: reads the key, `change` turns its value into the new one (nullopt:
    // refused, `failed`), written as a compare-and-set on the revision read; a concurrent write
    // makes it read and try again within retry_for. `absent` when there is nothing to change.
    using value_change = std::function<std::optional<std::string>(std::string_view)>;
    void modify(std::string key, value_change change, completion done);

    // When JetStream last answered (nullopt: never): any reply that is not a timeout or a lost
    // connection, a watched change, the quiet watch's stream check. Any thread.
    std::optional<std::chrono::steady_clock::time_point> last_answer() const;

    // Stops the threads (writes still queued complete as unavailable).
    void stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace mgw::cluster
