// NATS module: a core-NATS client on nats.c driven from the Asio loop through nats.c's external
// event-loop API. Socket readiness, message handlers and connection events all run on one strand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include <mgw/core/log.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::nats {

struct tls_options {
    bool enabled = false;
    std::string ca_file;  // empty: system trust store
    std::string cert_file;
    std::string key_file;
    bool skip_verify = false;
};

struct client_options {
    // "nats://host:port", "tls://host:port" or "host:port" (nats:// assumed).
    std::vector<std::string> servers;
    std::string user;
    std::string password;
    tls_options tls;
    std::string name = "metrics-gateway";
    std::chrono::milliseconds connect_timeout{2000};
    // Reconnects never stop; each round waits reconnect_wait plus a random jitter.
    std::chrono::milliseconds reconnect_wait{2000};
    std::chrono::milliseconds reconnect_jitter{100};
    std::chrono::milliseconds reconnect_jitter_tls{1000};
    std::chrono::milliseconds ping_interval{20000};
    int max_pings_out = 2;
    // nats.c's per-subscription buffer (gorouter's values); beyond it nats.c drops and reports a
    // slow consumer.
    int pending_messages_limit = 131072;
    int pending_bytes_limit = 131072 * 1024;
    // Messages handed to the strand but not yet handled; beyond it they are dropped and counted.
    std::size_t max_queued_messages = 131072;

    bool enabled() const { return !servers.empty(); }
};

struct message {
    std::string subject;
    std::string reply;  // empty unless the publisher expects an answer
    std::string data;
};

// What the status console shows of the connection; read from any thread.
struct client_status {
    bool connected = false;            // as mgw_nats_connected says
    std::vector<std::string> servers;  // as configured, any user:password@ left out
    std::uint64_t disconnects = 0;
    std::uint64_t reconnects = 0;
};

// Lifecycle: construct, subscribe(), start(); later close() on the strand. Handlers run on
// the strand given at construction, never on nats.c threads.
//
// Metrics (registered on the given registry): mgw_nats_connected, mgw_nats_disconnects_total,
// mgw_nats_reconnects_total, mgw_nats_messages_total{subject}, mgw_nats_bad_messages_total,
// mgw_nats_dropped_messages_total{reason}, mgw_nats_async_errors_total.
class client {
  public:
    using message_handler = std::function<void(message)>;
    using event_handler = std::function<void()>;

    // `strand` must be a strand (or a single-threaded executor).
    client(boost::asio::any_io_executor strand, client_options options, core::logger& log,
           prometheus::Registry& registry);
    // After close() has run on the strand, or once the io_context no longer runs. Waits (bounded)
    // for nats.c's last callbacks from its own threads.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Before start(). `subject` may use wildcards; the metric label is this subject.
    void subscribe(std::string subject, message_handler handler);
    // Before start(). on_connected runs after the first connection and after every reconnect
    // (subscriptions are in place again by then); on_disconnected when an established connection
    // is lost.
    void on_connected(event_handler handler);

    // Subscriptions made while the client runs, as a queue group member: each message on
    // `subject` goes to one member of `queue` (every group gets its own copy). On the strand,
    // after start(); nats.c renews them after a reconnect. Returns 0 when there is no
    // connection object yet or nats.c refused (the caller tries again later).
    using subscription_id = std::uint64_t;
    subscription_id queue_subscribe(std::string subject, std::string queue,
                                    message_handler handler);
    // On the strand: no handler of `id` runs afterwards. Unknown ids are ignored.
    void unsubscribe(subscription_id id);
    void on_disconnected(event_handler handler);

    // Connects in the background (nats.c's handshake is blocking, so it runs on a helper thread)
    // and keeps reconnecting forever. Throws std::invalid_argument on bad options (no servers,
    // unreadable TLS files).
    void start();

    // Queues a message; false when there is no connection object yet or nats.c refused it
    // (while reconnecting nats.c buffers it and sends it on reconnect).
    bool publish(std::string_view subject, std::string_view data);
    // The same with a reply subject: request/reply without nats.c's blocking request call
    // (the caller subscribes to its own inbox before start() and matches the replies).
    bool publish(std::string_view subject, std::string_view data, std::string_view reply);

    // The server's max_payload (bytes) of the current connection; 0 while not connected.
    // Any thread.
    std::int64_t max_payload() const;

    // For the layer that decodes payloads: counts a message it had to reject.
    void count_bad_message();

    // On the strand (the connection object is destroyed there).
    bool connected() const;
    // Any thread: from the counters nats.c's callbacks keep.
    client_status status() const;

    // Closes the connection: no handler runs afterwards. Call it on the strand with the
    // io_context still running; the nats.c connection is then destroyed on the strand (the
    // destructor does it otherwise). It waits for an initial connection attempt still in
    // progress (at most connect_timeout per server). Idempotent.
    void close();

  private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace mgw::nats
