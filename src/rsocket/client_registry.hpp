// RSocket module (internal): the proxy's registry of clients. Which connections are open and
// ready to be pulled, which app each has joined and how, and the pushes of closed ones held
// until the next scrape (bounded in count and in bytes). Thread-safe: connections report from
// their strands, HTTP handlers read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mgw/rsocket/connection.hpp>
#include <mgw/rsocket/proxy_status.hpp>

namespace mgw::rsocket {

struct proxy_counters;

struct registry_limits {
    std::size_t max_connections = 10000;
    std::size_t max_held_pushes = 10000;
    std::size_t max_held_push_bytes = std::size_t{256} << 20;
    std::chrono::milliseconds push_ttl{std::chrono::minutes{5}};
};

// The app a client has joined, and on what grounds.
struct client_app {
    enum class grounds : std::uint8_t {
        key,              // an access key of a binding of the app (checked on every request)
        declared_setup,   // its SETUP named the app (trusted networks only)
        declared_labels,  // its metrics' labels name the app (trusted networks only)
    };
    std::string guid;
    grounds how = grounds::key;
    std::string access_key;                             // key: to check it is still bound
    std::map<std::string, std::string> binding_labels;  // key: organization_name, ...
};

class client_registry {
  public:
    using clock = std::chrono::steady_clock;

    struct joined_client {
        std::shared_ptr<rsocket::connection> client;
        client_app app;
    };

    client_registry(registry_limits limits, proxy_counters& counters);

    // A transport connection arrived: false (counted) when stopped or at max_connections.
    bool admit();
    // An admitted connection that never became a client (the WebSocket upgrade failed, or the
    // registry stopped meanwhile).
    void abandon();
    // Counts and the ready clients per app, for the status console.
    proxy_status status() const;
    // The id for the next connection.
    std::uint64_t next_id();
    // Tracks an admitted connection until closed(); false when the registry stopped.
    bool add(const std::shared_ptr<connection>& c);

    // The key went out: the connection is pulled from now on, for `app` if it joined one.
    // `learn_from_labels`: the first pull's labels may still name its app (trusted networks).
    void ready(const std::shared_ptr<connection>& c, std::optional<client_app> app,
               bool learn_from_labels);
    // The connection ended; its last push is held for the next scrape.
    void closed(std::uint64_t id, std::optional<leased_text> push, clock::time_point now);

    // Every ready connection, oldest first.
    std::vector<std::shared_ptr<connection>> ready_clients() const;
    std::size_t ready_count() const;
    // The ready connections joined to the app (GUIDs compared without case), oldest first.
    std::vector<joined_client> clients_of_app(std::string_view guid) const;
    // The GUIDs of the apps ready connections have joined, each once (as the clients spelled
    // them); for service discovery.
    std::vector<std::string> joined_apps() const;
    // The connection leaves its app (its key was revoked).
    void leave_app(std::uint64_t id);
    // Whether a pull of the connection may still teach its app.
    bool learning(std::uint64_t id) const;
    // What a pull taught: the app GUID the connection's labels name (empty: none). Returns
    // whether it joined an app, or nullopt when it was not learning any more.
    std::optional<bool> learn(std::uint64_t id, std::string guid);

    // The held pushes not expired yet; they are served once.
    std::vector<leased_text> take_held_pushes(clock::time_point now);

    // Stops admitting; returns the open connections for the caller to stop.
    std::vector<std::shared_ptr<connection>> stop();

  private:
    struct held_push {
        leased_text push;
        clock::time_point expires;
    };

    void prune_held_pushes(clock::time_point now);
    void drop_oldest_push(std::string_view outcome);

    registry_limits limits_;
    proxy_counters& counters_;
    mutable std::mutex mutex_;  // guards everything below; never held across I/O
    bool stopped_ = false;
    std::uint64_t next_id_ = 1;
    std::size_t open_ = 0;  // admitted and not yet closed, ready or not
    std::map<std::uint64_t, std::weak_ptr<connection>> all_;
    std::map<std::uint64_t, std::shared_ptr<connection>> ready_;
    std::map<std::uint64_t, client_app> apps_;  // of ready connections that joined an app
    std::set<std::uint64_t> learning_;
    std::deque<held_push> held_;
    std::size_t held_bytes_ = 0;  // text bytes of held_
};

}  // namespace mgw::rsocket
