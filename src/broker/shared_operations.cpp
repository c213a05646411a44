// Broker module: the write operations when a shared store (cluster mode, JetStream KV) is the
// source of truth. The checks stay in the operations; what is left runs as the reply's
// continuation: it awaits the store's verdict (answered on the store's thread, posted back to
// the request's executor — the I/O thread never blocks on NATS) and then brings this node's
// cache and index up to date at once, so the key works here before the answer leaves. Other
// nodes learn the change from the store's watch (apply_shared_*). PATCH is a versioned change
// of the stored instance; an unbind or deprovision of a record the cache does not hold yet
// (made through another node within the watch's lag) reads the store before it answers 410.
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/broker/broker_service.hpp>

#include "operation_support.hpp"

namespace mgw::broker {

namespace {

using shared_result = shared_records::result;
using status = shared_result::status;

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

// A read of the store, resumed on the coroutine's executor: the verdict and the record.
template <typename Record>
boost::asio::awaitable<std::pair<shared_result, std::optional<Record>>> await_found(
    std::function<void(shared_records::found<Record>)> start) {
    using answer = std::pair<shared_result, std::optional<Record>>;
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(answer)>(
        [start = std::move(start)](auto handler) mutable {
            auto executor = boost::asio::get_associated_executor(handler);
            auto held = std::make_shared<decltype(handler)>(std::move(handler));
            start([executor, held](shared_result result, std::optional<Record> record) {
                boost::asio::post(executor,
                                  [held, got = answer(result, std::move(record))]() mutable {
                                      (*held)(std::move(got));
                                  });
            });
        },
        boost::asio::use_awaitable);
}

}  // namespace

broker_service::reply broker_service::provision_shared(instance_record instance) {
    reply pending;
    pending.then = [this, instance = std::move(instance)]() -> boost::asio::awaitable<reply> {
        const auto result = co_await await_store(
            [this, &instance](auto done) { shared_->create_instance(instance, std::move(done)); });
        switch (result.outcome) {
            case status::created:
                apply_shared_instance(instance);
                log_.info("broker provisioned (shared)", {{"instance_id", instance.instance_id}});
                co_return reply{.status = 201, .body = std::string(empty_object), .then = nullptr};
            case status::identical:
                co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
            case status::conflict:
                co_return reply{.status = 409,
                                .body = conflict_body("service instance", instance.instance_id),
                                .then = nullptr};
            case status::missing:
            case status::unavailable:
            case status::failed:
                break;
        }
        co_return refused_by_store(result.outcome, "provision");
    };
    return pending;
}

broker_service::reply broker_service::update_shared(std::string instance_id, update_request request,
                                                    std::string user) {
    reply pending;
    pending.then = [this, instance_id = std::move(instance_id), request = std::move(request),
                    user = std::move(user)]() -> boost::asio::awaitable<reply> {
        // The store's instance, not the cache's: one provisioned elsewhere a moment ago counts.
        auto [found, stored] =
            co_await await_found<instance_record>([this, &instance_id](auto done) {
                shared_->find_instance(instance_id, std::move(done));
            });
        if (found.outcome == status::missing) {
            co_return reply{
                .status = 404,
                .body = description_json("service instance " + instance_id + " does not exist"),
                .then = nullptr};
        }
        if (found.outcome != status::created || !stored) {
            co_return refused_by_store(found.outcome, "update");
        }
        if (auto refused = check_update(*stored, request)) {
            co_return reply::from(*refused);
        }
        if (!request.parameters || *request.parameters == stored->parameters) {
            co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
        }
        const auto result = co_await await_store([this, &instance_id, &request](auto done) {
            shared_->update_instance_parameters(instance_id, *request.parameters, std::move(done));
        });
        if (result.outcome == status::missing) {
            co_return reply{
                .status = 404,
                .body = description_json("service instance " + instance_id + " does not exist"),
                .then = nullptr};
        }
        if (result.outcome != status::created) {
            co_return refused_by_store(result.outcome, "update");
        }
        stored->parameters = *request.parameters;
        apply_shared_instance(*stored);
        log_.info("broker updated instance parameters (shared)",
                  {{"instance_id", instance_id}, {"claimed_user", user}});
        co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
    };
    return pending;
}

broker_service::reply broker_service::bind_shared(binding_record binding,
                                                  std::optional<instance_record> adopted,
                                                  bool rotate_key, std::string answer) {
    reply pending;
    pending.then = [this, binding = std::move(binding), adopted = std::move(adopted), rotate_key,
                    answer = std::move(answer)]() mutable -> boost::asio::awaitable<reply> {
        if (adopted && shared_->live_counts().instances >= max_instances_) {
            // Not in this node's cache, perhaps only not yet: only an instance the store lacks
            // is a new one.
            auto [found, stored] =
                co_await await_found<instance_record>([this, &adopted](auto done) {
                    shared_->find_instance(adopted->instance_id, std::move(done));
                });
            if (found.outcome == status::missing) {
                co_return limit_reached("instances", max_instances_);
            }
            if (found.outcome != status::created) {
                co_return refused_by_store(found.outcome, "bind");
            }
        }
        if (adopted) {
            const auto made = co_await await_store([this, &adopted](auto done) {
                shared_->create_instance(*adopted, std::move(done));
            });
            if (made.outcome == status::unavailable || made.outcome == status::failed ||
                made.outcome == status::missing) {
                co_return refused_by_store(made.outcome, "bind");
            }
            // Created, or another node adopted or provisioned it meanwhile: it exists.
            if (made.outcome == status::created) {
                apply_shared_instance(*adopted);
                metrics_->adopted.Increment();
            }
        }
        auto result = co_await await_store(
            [this, &binding](auto done) { shared_->create_binding(binding, std::move(done)); });
        if (result.outcome == status::identical && rotate_key) {
            // As on a single node: a repeated bind gets a new key and the old one stops working.
            result = co_await await_store([this, &binding, revision = result.revision](auto done) {
                shared_->replace_binding(binding, revision, std::move(done));
            });
            if (result.outcome == status::created) {
                metrics_->keys_revoked.Increment();
                result.outcome = status::identical;
            }
        } else if (result.outcome == status::identical) {
            co_return reply{.status = 200, .body = std::move(answer), .then = nullptr};
        }
        switch (result.outcome) {
            case status::created:
            case status::identical: {
                const bool fresh = result.outcome == status::created;
                if (!apply_or_fail(binding)) {
                    co_return refused_by_store(status::failed, "bind");
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
            case status::conflict:
                co_return reply{.status = 409,
                                .body = conflict_body("service binding", binding.binding_id),
                                .then = nullptr};
            case status::missing:
            case status::unavailable:
            case status::failed:
                break;
        }
        co_return refused_by_store(result.outcome, "bind");
    };
    return pending;
}

boost::asio::awaitable<broker_service::reply> broker_service::unbind_in_store(
    std::string binding_id) {
    const auto result = co_await await_store(
        [this, &binding_id](auto done) { shared_->remove_binding(binding_id, std::move(done)); });
    if (result.outcome != status::created) {
        co_return refused_by_store(result.outcome, "unbind");
    }
    apply_shared_unbind(binding_id);
    log_.info("broker unbound (shared)", {{"binding_id", binding_id}});
    co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
}

boost::asio::awaitable<broker_service::reply> broker_service::deprovision_in_store(
    std::string instance_id, std::vector<std::string> bindings) {
    for (const auto& binding_id : bindings) {
        const auto gone = co_await await_store([this, &binding_id](auto done) {
            shared_->remove_binding(binding_id, std::move(done));
        });
        if (gone.outcome != status::created) {
            co_return refused_by_store(gone.outcome, "deprovision");
        }
        apply_shared_unbind(binding_id);
    }
    const auto result = co_await await_store([this, &instance_id](auto done) {
        shared_->remove_instance(instance_id, std::move(done));
    });
    if (result.outcome != status::created) {
        co_return refused_by_store(result.outcome, "deprovision");
    }
    apply_shared_deprovision(instance_id);
    log_.info("broker deprovisioned (shared)", {{"instance_id", instance_id}});
    co_return reply{.status = 200, .body = std::string(empty_object), .then = nullptr};
}

broker_service::reply broker_service::unbind_shared(std::string binding_id) {
    reply pending;
    pending.then = [this, binding_id = std::move(binding_id)]() {
        return unbind_in_store(binding_id);
    };
    return pending;
}

std::optional<std::vector<std::string>> broker_service::cached_bindings_of(
    std::string_view instance_id) {
    auto all = store_.bindings();
    if (!all) {
        return std::nullopt;
    }
    std::vector<std::string> bindings;
    for (const auto& b : *all) {
        if (b.instance_id == instance_id) {
            bindings.push_back(b.binding_id);
        }
    }
    return bindings;
}

broker_service::reply broker_service::deprovision_shared(std::string instance_id) {
    // The bindings this node knows of the instance go first (the Cloud Controller unbinds
    // before it deprovisions; these are leftovers), then the instance.
    auto bindings = cached_bindings_of(instance_id);
    if (!bindings) {
        return refused_by_store(status::failed, "deprovision");
    }
    reply pending;
    pending.then = [this, instance_id = std::move(instance_id), bindings = *std::move(bindings)]() {
        return deprovision_in_store(instance_id, bindings);
    };
    return pending;
}

broker_service::reply broker_service::unbind_unseen(const http::request_context& request,
                                                    std::string instance_id,
                                                    std::string binding_id) {
    reply pending;
    pending.then = [this, &request, instance_id = std::move(instance_id),
                    binding_id = std::move(binding_id)]() -> boost::asio::awaitable<reply> {
        // Not in this node's cache: made through another node within the watch's lag, or gone.
        auto [found, stored] = co_await await_found<binding_record>(
            [this, &binding_id](auto done) { shared_->find_binding(binding_id, std::move(done)); });
        if (found.outcome == status::missing ||
            (found.outcome == status::created && stored && stored->instance_id != instance_id &&
             stored->origin != record_origin::promfetcher_import)) {
            co_return reply{.status = 410, .body = std::string(empty_object), .then = nullptr};
        }
        if (found.outcome != status::created || !stored) {
            co_return refused_by_store(found.outcome, "unbind");
        }
        if (auto checked = check_delete_ids(request, stored->service_id, stored->plan_id);
            !checked) {
            co_return reply::from(checked.error());
        }
        co_return co_await unbind_in_store(binding_id);
    };
    return pending;
}

broker_service::reply broker_service::deprovision_unseen(const http::request_context& request,
                                                         std::string instance_id) {
    reply pending;
    pending.then = [this, &request,
                    instance_id = std::move(instance_id)]() -> boost::asio::awaitable<reply> {
        auto [found, stored] =
            co_await await_found<instance_record>([this, &instance_id](auto done) {
                shared_->find_instance(instance_id, std::move(done));
            });
        if (found.outcome == status::missing) {
            co_return reply{.status = 410, .body = std::string(empty_object), .then = nullptr};
        }
        if (found.outcome != status::created || !stored) {
            co_return refused_by_store(found.outcome, "deprovision");
        }
        if (auto checked = check_delete_ids(request, stored->service_id, stored->plan_id);
            !checked) {
            co_return reply::from(checked.error());
        }
        std::optional<std::vector<std::string>> bindings;
        {
            const std::lock_guard lock(store_mutex_);
            bindings = cached_bindings_of(instance_id);
        }
        if (!bindings) {
            co_return refused_by_store(status::failed, "deprovision");
        }
        co_return co_await deprovision_in_store(instance_id, *std::move(bindings));
    };
    return pending;
}

bool broker_service::shared_limit_reached(bool instance, std::string_view id) {
    const auto live = shared_->live_counts();
    const bool full = instance ? live.instances >= max_instances_ : live.bindings >= max_bindings_;
    if (!full) {
        return false;
    }
    // At the limit, a repeat of a record already there is not a new one (OSB 200).
    if (instance) {
        auto found = store_.find_instance(id);
        return !found || !*found;
    }
    auto found = store_.find_binding(id);
    return !found || !*found;
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

std::optional<broker_service::local_records> broker_service::cached_records() {
    const std::lock_guard lock(store_mutex_);
    auto instances = store_.instances();
    auto bindings = store_.bindings();
    if (!instances || !bindings) {
        metrics_->store_errors.Increment();
        return std::nullopt;
    }
    return local_records{.instances = *std::move(instances), .bindings = *std::move(bindings)};
}

}  // namespace mgw::broker
