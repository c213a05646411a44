// The client's subscriptions and their nats.c handles. A subscription object lives as long as
// nats.c may call back with it: fixed ones as long as the client, queue subscriptions until
// nats.c's completion callback, which comes after their last message callback.
#include "subscription_registry.hpp"

#include <utility>

namespace mgw::nats {

subscription_registry::subscription_registry(void* owner, subscription_callbacks callbacks,
                                             const client_options& options,
                                             std::atomic<int>& nats_refs, core::logger& log)
    : owner_(owner),
      callbacks_(callbacks),
      pending_messages_limit_(options.pending_messages_limit),
      pending_bytes_limit_(options.pending_bytes_limit),
      nats_refs_(nats_refs),
      log_(log) {}

std::unique_ptr<subscription> subscription_registry::make_subscription(
    std::string subject, client::message_handler handler, prometheus::Counter& messages) const {
    auto sub = std::make_unique<subscription>();
    sub->owner = owner_;
    sub->messages = &messages;
    sub->subject = std::move(subject);
    sub->handler = std::move(handler);
    return sub;
}

void subscription_registry::add_fixed(std::string subject, client::message_handler handler,
                                      prometheus::Counter& messages) {
    auto sub = make_subscription(std::move(subject), std::move(handler), messages);
    fixed_.push_back(std::move(sub));
}

void subscription_registry::subscribe_fixed(natsConnection* connection) {
    for (auto& sub : fixed_) {
        const natsStatus sub_status = natsConnection_Subscribe(
            &sub->sub, connection, sub->subject.c_str(), callbacks_.on_message, sub.get());
        if (sub_status != NATS_OK) {
            log_.error("nats subscribe failed",
                       {{"subject", sub->subject}, {"status", status_text(sub_status)}});
            continue;
        }
        natsSubscription_SetPendingLimits(sub->sub, pending_messages_limit_, pending_bytes_limit_);
        nats_refs_.fetch_add(1);
        if (natsSubscription_SetOnCompleteCB(sub->sub, callbacks_.on_fixed_complete, sub.get()) !=
            NATS_OK) {
            nats_refs_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }
}

client::subscription_id subscription_registry::subscribe_queue(natsConnection* connection,
                                                               std::string subject,
                                                               const std::string& queue,
                                                               client::message_handler handler,
                                                               prometheus::Counter& messages) {
    auto sub = make_subscription(std::move(subject), std::move(handler), messages);
    sub->dynamic_id = next_dynamic_++;
    const natsStatus status =
        natsConnection_QueueSubscribe(&sub->sub, connection, sub->subject.c_str(), queue.c_str(),
                                      callbacks_.on_message, sub.get());
    if (status != NATS_OK) {
        log_.warn("nats queue subscribe failed",
                  {{"subject", sub->subject}, {"queue", queue}, {"status", status_text(status)}});
        return 0;
    }
    natsSubscription_SetPendingLimits(sub->sub, pending_messages_limit_, pending_bytes_limit_);
    nats_refs_.fetch_add(1);
    if (natsSubscription_SetOnCompleteCB(sub->sub, callbacks_.on_dynamic_complete, sub.get()) !=
        NATS_OK) {
        // Without the callback nobody tells when nats.c is done with it: it stays until the
        // client goes.
        nats_refs_.fetch_sub(1, std::memory_order_acq_rel);
    }
    const client::subscription_id id = sub->dynamic_id;
    dynamic_.emplace(id, std::move(sub));
    return id;
}

void subscription_registry::unsubscribe(client::subscription_id id) {
    const auto it = dynamic_.find(id);
    if (it == dynamic_.end() || !it->second->active) {
        return;
    }
    subscription& sub = *it->second;
    sub.active = false;
    if (sub.sub != nullptr) {
        natsSubscription_Unsubscribe(sub.sub);
        natsSubscription_Destroy(sub.sub);
        sub.sub = nullptr;
    }
}

void subscription_registry::forget(client::subscription_id id) {
    dynamic_.erase(id);
}

void subscription_registry::destroy_handles() {
    for (auto& [id, sub] : dynamic_) {
        if (sub->sub != nullptr) {
            natsSubscription_Destroy(sub->sub);
            sub->sub = nullptr;
        }
    }
    for (auto& sub : fixed_) {
        if (sub->sub != nullptr) {
            natsSubscription_Destroy(sub->sub);
            sub->sub = nullptr;
        }
    }
}

}  // namespace mgw::nats
