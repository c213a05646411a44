// NATS module, internal: the client's subscriptions. The fixed ones (subscribe(), made on the
// connector thread once connected) and the queue subscriptions made while the client runs
// (queue_subscribe(), kept by id until nats.c completes them), their nats.c handles, and the
// nats.c calls that make, end and destroy them. Split from the client, which keeps the
// connection, the event-loop glue and the delivery of messages to the strand: the registry is
// what a subscription is and how long it lives, nothing of how its messages travel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nats/nats.h>

#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

namespace prometheus {
class Counter;
}

namespace mgw::nats {

// nats.c's text for a status, for log lines.
inline std::string status_text(natsStatus status) {
    const char* text = natsStatus_GetText(status);
    return text != nullptr ? text : "unknown";
}

// One subscription: the closure of nats.c's callbacks for it.
struct subscription {
    void* owner = nullptr;  // the client's state, which the callbacks deliver to
    std::string subject;
    client::message_handler handler;
    prometheus::Counter* messages = nullptr;
    natsSubscription* sub = nullptr;
    // Queue subscriptions made after start() (queue_subscribe): false once unsubscribed,
    // so that messages already posted to the strand are not handled any more.
    std::uint64_t dynamic_id = 0;
    bool active = true;
};

// The client's callbacks for nats.c, each called with the subscription as closure.
struct subscription_callbacks {
    natsMsgHandler on_message = nullptr;
    // The last callback of a fixed subscription, of a queue subscription.
    natsOnCompleteCB on_fixed_complete = nullptr;
    natsOnCompleteCB on_dynamic_complete = nullptr;
};

class subscription_registry {
  public:
    // `nats_refs` counts the callbacks nats.c still owes the client: one per subscription
    // whose completion callback is set. `owner`, `nats_refs` and `log` outlive the registry.
    subscription_registry(void* owner, subscription_callbacks callbacks,
                          const client_options& options, std::atomic<int>& nats_refs,
                          core::logger& log);

    // Before start(): a fixed subscription, made by subscribe_fixed().
    void add_fixed(std::string subject, client::message_handler handler,
                   prometheus::Counter& messages);
    // The connector thread, once nats.c has a connection: subscribes the fixed ones (a failure
    // is logged and that one left out).
    void subscribe_fixed(natsConnection* connection);

    // On the strand: a queue subscription on `connection`; 0 when nats.c refused it.
    client::subscription_id subscribe_queue(natsConnection* connection, std::string subject,
                                            const std::string& queue,
                                            client::message_handler handler,
                                            prometheus::Counter& messages);
    // On the strand: no handler of `id` runs afterwards. Unknown ids are ignored.
    void unsubscribe(client::subscription_id id);
    // On the strand, after nats.c completed the queue subscription `id`: forgets it.
    void forget(client::subscription_id id);

    // On the strand, with the connection: destroys every nats.c subscription handle.
    void destroy_handles();

  private:
    // A subscription of this registry's client, not yet known to nats.c.
    std::unique_ptr<subscription> make_subscription(std::string subject,
                                                    client::message_handler handler,
                                                    prometheus::Counter& messages) const;
    void* owner_;
    subscription_callbacks callbacks_;
    int pending_messages_limit_;
    int pending_bytes_limit_;
    std::atomic<int>& nats_refs_;
    core::logger& log_;

    std::vector<std::unique_ptr<subscription>> fixed_;
    // Strand only: queue_subscribe's subscriptions, until nats.c has completed them.
    std::map<client::subscription_id, std::unique_ptr<subscription>> dynamic_;
    client::subscription_id next_dynamic_ = 1;
};

}  // namespace mgw::nats
