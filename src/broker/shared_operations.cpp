// Broker module: the write operations when a shared store (cluster mode, JetStream KV) is the
// source of truth. The checks stay in the operations; what is left runs as the reply's
// continuation: it awaits the store's verdict (answered on the store's thread, posted back to
// the request's executor — the I/O thread never blocks on NATS) and then brings this node's
// cache and index up to date at once, so the key works here before the answer leaves. Other
// nodes learn the change from the store's watch (apply_shared_*).
#include <memory>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/broker/broker_service.hpp>

#include "operation_support.hpp"

namespace mgw::broker {

namespace {

using shared_result = shared_records::result;

// Starts a store call and resumes the coroutine on its own executor with the answer.
boost::asio::awaitable<shared_result> await_store(
    std::function<void(shared_records::completion)> start) {
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(shared_result)>(
        [start = std::move(start)](auto handler) mutable {
            auto executor = boost::asio::get_associated_executor(handler);
            auto held = std::make_shared<decltype(handler)>(std::move(handler));
            start([executor, held](shared_result result) {
                boost::asio::post(executor, [held, result] { (*held)(result); });
            });
        },
        boost::asio::use_awaitable);
}

std::string unavailable_body(std::string_view what) {
    return description_json(std::string(what) +
                            ": the cluster's binding store does not answer; retry");
}

std::string failed_body(std::string_view what) {
    return description_json(std::string(what) + ": the cluster's binding store refused");
}

}  // namespace

broker_service::reply broker_service::provision_shared(instance_record instance) {
    reply pending;
    pending.then = [this, instance = std::move(instance)]() -> boost::asio::awaitable<reply> {
        const auto result = co_await await_store(
            [this, &instance](auto done) { shared_->create_instance(instance, std::move(done)); });
        switch (result.outcome) {
            case shared_result::status::created:
                apply_shared_instance(instance);
                log_.info("broker provisioned (shared)", {{"instance_id", instance.instance_id}});
                co_return reply{.status = 201, .body = std::string(empty_object), .then = nullptr};
            case shared_result::status::identical:
                co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
            case shared_result::status::conflict:
                co_return reply{
                    .status = 409,
                    .body = description_json("service instance " + instance.instance_id +
                                             " already exists with different "
                                             "attributes"),
                    .then = nullptr};
            case shared_result::status::unavailable:
                metrics_->store_errors.Increment();
                co_return reply{
                    .status = 503, .body = unavailable_body("provision"), .then = nullptr};
            case shared_result::status::failed:
                break;
        }
        metrics_->store_errors.Increment();
        co_return reply{.status = 500, .body = failed_body("provision"), .then = nullptr};
    };
    return pending;
}

broker_service::reply broker_service::bind_shared(binding_record binding,
                                                  std::optional<instance_record> adopted,
                                                  bool rotate_key, std::string answer) {
    reply pending;
    pending.then = [this, binding = std::move(binding), adopted = std::move(adopted), rotate_key,
                    answer = std::move(answer)]() mutable -> boost::asio::awaitable<reply> {
        if (adopted) {
            const auto made = co_await await_store([this, &adopted](auto done) {
                shared_->create_instance(*adopted, std::move(done));
            });
            if (made.outcome == shared_result::status::unavailable) {
                metrics_->store_errors.Increment();
                co_return reply{.status = 503, .body = unavailable_body("bind"), .then = nullptr};
            }
            if (made.outcome == shared_result::status::failed) {
                metrics_->store_errors.Increment();
                co_return reply{.status = 500, .body = failed_body("bind"), .then = nullptr};
            }
            // Created, or another node adopted or provisioned it meanwhile: it exists.
            if (made.outcome == shared_result::status::created) {
                apply_shared_instance(*adopted);
                metrics_->adopted.Increment();
            }
        }
        auto result = co_await await_store(
            [this, &binding](auto done) { shared_->create_binding(binding, std::move(done)); });
        if (result.outcome == shared_result::status::identical && rotate_key) {
            // As on a single node: a repeated bind gets a new key and the old one stops working.
            result = co_await await_store([this, &binding, revision = result.revision](auto done) {
                shared_->replace_binding(binding, revision, std::move(done));
            });
            if (result.outcome == shared_result::status::created) {
                metrics_->keys_revoked.Increment();
                result.outcome = shared_result::status::identical;
            }
        } else if (result.outcome == shared_result::status::identical) {
            co_return reply{.status = 200, .body = std::move(answer), .then = nullptr};
        }
        switch (result.outcome) {
            case shared_result::status::created:
            case shared_result::status::identical: {
                const bool fresh = result.outcome == shared_result::status::created;
                if (!apply_or_fail(binding)) {
                    co_return reply{.status = 500, .body = failed_body("bind"), .then = nullptr};
                }
                if (rotate_key) {
                    metrics_->keys_issued.Increment();
                }
                log_.info("broker bound (shared)", {{"instance_id", binding.instance_id},
                                                    {"binding_id", binding.binding_id},
                                                    {"app_guid", binding.app_guid}});
                co_return reply{
                    .status = fresh ? 201 : 200, .body = std::move(answer), .then = nullptr};
            }
            case shared_result::status::conflict:
                co_return reply{.status = 409,
                                .body = description_json("service binding " + binding.binding_id +
                                                         " already exists with different "
                                                         "attributes"),
                                .then = nullptr};
            case shared_result::status::unavailable:
                metrics_->store_errors.Increment();
                co_return reply{.status = 503, .body = unavailable_body("bind"), .then = nullptr};
            case shared_result::status::failed:
                break;
        }
        metrics_->store_errors.Increment();
        co_return reply{.status = 500, .body = failed_body("bind"), .then = nullptr};
    };
    return pending;
}

broker_service::reply broker_service::unbind_shared(std::string binding_id) {
    reply pending;
    pending.then = [this, binding_id = std::move(binding_id)]() -> boost::asio::awaitable<reply> {
        const auto result = co_await await_store([this, &binding_id](auto done) {
            shared_->remove_binding(binding_id, std::move(done));
        });
        if (result.outcome == shared_result::status::unavailable) {
            metrics_->store_errors.Increment();
            co_return reply{.status = 503, .body = unavailable_body("unbind"), .then = nullptr};
        }
        if (result.outcome != shared_result::status::created) {
            metrics_->store_errors.Increment();
            co_return reply{.status = 500, .body = failed_body("unbind"), .then = nullptr};
        }
        apply_shared_unbind(binding_id);
        log_.info("broker unbound (shared)", {{"binding_id", binding_id}});
        co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
    };
    return pending;
}

broker_service::reply broker_service::deprovision_shared(std::string instance_id) {
    // The bindings this node knows of the instance go first (the Cloud Controller unbinds
    // before it deprovisions; these are leftovers), then the instance.
    std::vector<std::string> bindings;
    if (auto all = store_.bindings()) {
        for (const auto& b : *all) {
            if (b.instance_id == instance_id) {
                bindings.push_back(b.binding_id);
            }
        }
    } else {
        return store_failure("deprovision", all.error());
    }
    reply pending;
    pending.then = [this, instance_id = std::move(instance_id),
                    bindings = std::move(bindings)]() -> boost::asio::awaitable<reply> {
        for (const auto& binding_id : bindings) {
            const auto gone = co_await await_store([this, &binding_id](auto done) {
                shared_->remove_binding(binding_id, std::move(done));
            });
            if (gone.outcome != shared_result::status::created) {
                metrics_->store_errors.Increment();
                co_return gone.outcome == shared_result::status::unavailable
                    ? reply{.status = 503, .body = unavailable_body("deprovision"), .then = nullptr}
                    : reply{.status = 500, .body = failed_body("deprovision"), .then = nullptr};
            }
            apply_shared_unbind(binding_id);
        }
        const auto result = co_await await_store([this, &instance_id](auto done) {
            shared_->remove_instance(instance_id, std::move(done));
        });
        if (result.outcome != shared_result::status::created) {
            metrics_->store_errors.Increment();
            co_return result.outcome == shared_result::status::unavailable
                ? reply{.status = 503, .body = unavailable_body("deprovision"), .then = nullptr}
                : reply{.status = 500, .body = failed_body("deprovision"), .then = nullptr};
        }
        apply_shared_deprovision(instance_id);
        log_.info("broker deprovisioned (shared)", {{"instance_id", instance_id}});
        co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
    };
    return pending;
}

bool broker_service::apply_or_fail(const binding_record& binding) {
    const std::lock_guard lock(store_mutex_);
    return apply_binding_locked(binding);
}

void broker_service::apply_shared_instance(const instance_record& instance) {
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance.instance_id);
    if (!existing) {
        metrics_->store_errors.Increment();
        return;
    }
    const auto ec = *existing ? store_.update_instance(instance) : store_.insert_instance(instance);
    if (ec) {
        metrics_->store_errors.Increment();
        log_.warn("broker cache: cannot store a shared instance",
                  {{"instance_id", instance.instance_id}, {"error", ec.message()}});
    }
    update_gauges();
}

void broker_service::apply_shared_binding(const binding_record& binding) {
    const std::lock_guard lock(store_mutex_);
    apply_binding_locked(binding);
}

bool broker_service::apply_binding_locked(const binding_record& binding) {
    auto existing = store_.find_binding(binding.binding_id);
    if (!existing) {
        metrics_->store_errors.Increment();
        return false;
    }
    boost::system::error_code ec;
    binding_record stored = binding;
    if (!*existing) {
        // The cache keeps SQLite's own order; the index orders a promfetcher app's bindings
        // by it, as on a single node.
        ec = store_.insert_binding(stored);
    } else if ((*existing)->key_hash != binding.key_hash) {
        ec = store_.replace_key_hash(binding.binding_id, binding.key_hash);
        stored.seq = (*existing)->seq;
    } else {
        stored.seq = (*existing)->seq;
    }
    if (ec) {
        // Its instance is not in the cache yet (or SQLite failed): the index still follows
        // the shared store, which is the truth; the cache catches up on the next change.
        metrics_->store_errors.Increment();
        log_.warn("broker cache: cannot store a shared binding",
                  {{"binding_id", binding.binding_id}, {"error", ec.message()}});
    }
    index_binding(stored);
    update_gauges();
    return true;
}

void broker_service::apply_shared_unbind(std::string_view binding_id) {
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_binding(binding_id);
    if (existing && *existing && !(*existing)->key_hash.empty()) {
        metrics_->keys_revoked.Increment();
    }
    if (auto deleted = store_.delete_binding(binding_id); !deleted) {
        metrics_->store_errors.Increment();
    }
    index_.remove(binding_id);
    update_gauges();
}

void broker_service::apply_shared_deprovision(std::string_view instance_id) {
    const std::lock_guard lock(store_mutex_);
    auto removed = store_.delete_instance(instance_id);
    if (!removed) {
        metrics_->store_errors.Increment();
        return;
    }
    if (*removed) {
        for (const binding_record& binding : **removed) {
            index_.remove(binding.binding_id);
        }
    }
    update_gauges();
}

}  // namespace mgw::broker
