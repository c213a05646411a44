// Shared broker bindings: the glue between the broker's shared_records, the KV shell and the
// pure records. A write's verdict is decided from what the bucket holds (binding_records);
// the watch's changes go through the replica (stale replays dropped) to the broker.
#include <future>
#include <variant>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <mgw/cluster/shared_bindings.hpp>

#include "binding_kv.hpp"
#include "binding_records.hpp"

namespace mgw::cluster {

namespace {

using result = broker::shared_records::result;
using status = result::status;

std::string_view reason_label(ignore_change::reason why) {
    switch (why) {
        case ignore_change::reason::stale:
            return "stale";
        case ignore_change::reason::unknown_key:
            return "unknown_key";
        case ignore_change::reason::undecodable:
            return "undecodable";
        case ignore_change::reason::unknown_delete:
            return "unknown_delete";
    }
    return "unknown";
}

std::string_view status_label(status s) {
    switch (s) {
        case status::created:
            return "created";
        case status::identical:
            return "identical";
        case status::conflict:
            return "conflict";
        case status::unavailable:
            return "unavailable";
        case status::failed:
            return "failed";
    }
    return "failed";
}

}  // namespace

struct shared_bindings::impl {
    shared_bindings_options options;
    broker::broker_service& broker;
    core::logger& log;
    prometheus::Family<prometheus::Counter>& changes;
    prometheus::Family<prometheus::Counter>& writes;
    binding_kv kv;
    binding_replica replica;  // the watch thread's only

    impl(shared_bindings_options o, broker::broker_service& b, core::logger& l,
         prometheus::Registry& registry)
        : options(std::move(o)),
          broker(b),
          log(l),
          changes(prometheus::BuildCounter()
                      .Name("mgw_cluster_binding_changes_total")
                      .Help("Changes of the shared bindings bucket seen by this node, by result")
                      .Register(registry)),
          writes(prometheus::BuildCounter()
                     .Name("mgw_cluster_binding_writes_total")
                     .Help("Broker writes to the shared bindings bucket, by result")
                     .Register(registry)),
          kv(binding_kv_options{.connection = options.connection,
                                .bucket = bindings_bucket(options.cluster_name),
                                .replicas = options.replicas,
                                .retry_for = std::chrono::milliseconds(1500)},
             l) {}

    completion counted(completion done) {
        return [this, done = std::move(done)](result r) {
            writes.Add({{"result", std::string(status_label(r.outcome))}}).Increment();
            done(r);
        };
    }

    static result plain(const kv_write_result& r) {
        switch (r.outcome) {
            case kv_write_result::status::done:
                return {.outcome = status::created, .revision = r.revision};
            case kv_write_result::status::unavailable:
                return {.outcome = status::unavailable, .revision = 0};
            case kv_write_result::status::exists:
            case kv_write_result::status::failed:
                break;
        }
        return {.outcome = status::failed, .revision = 0};
    }

    static result verdict(create_verdict v, std::uint64_t revision) {
        switch (v) {
            case create_verdict::create:  // a record appeared and went between two reads
                return {.outcome = status::unavailable, .revision = 0};
            case create_verdict::identical:
                return {.outcome = status::identical, .revision = revision};
            case create_verdict::conflict:
                return {.outcome = status::conflict, .revision = revision};
            case create_verdict::unreadable:
                break;
        }
        return {.outcome = status::failed, .revision = 0};
    }

    void apply(const kv_change& change) {
        const replica_action action = replica.apply(change);
        if (const auto* ignored = std::get_if<ignore_change>(&action)) {
            changes.Add({{"result", std::string(reason_label(ignored->why))}}).Increment();
            if (ignored->why != ignore_change::reason::stale) {
                log.warn("cluster bindings: change ignored",
                         {{"key", change.key}, {"reason", reason_label(ignored->why)}});
            }
            return;
        }
        if (const auto* put = std::get_if<put_instance>(&action)) {
            broker.apply_shared_instance(put->instance);
        } else if (const auto* bound = std::get_if<put_binding>(&action)) {
            broker.apply_shared_binding(bound->binding);
        } else if (const auto* unbound = std::get_if<cluster::remove_binding>(&action)) {
            broker.apply_shared_unbind(unbound->binding_id);
        } else if (const auto* gone = std::get_if<cluster::remove_instance>(&action)) {
            broker.apply_shared_deprovision(gone->instance_id);
        }
        changes.Add({{"result", "applied"}}).Increment();
    }
};

shared_bindings::shared_bindings(shared_bindings_options options, broker::broker_service& broker,
                                 core::logger& log, prometheus::Registry& registry)
    : impl_(std::make_unique<impl>(std::move(options), broker, log, registry)) {}

shared_bindings::~shared_bindings() {
    stop();
}

bool shared_bindings::open(std::string& error) {
    return impl_->kv.open(impl_->options.open_timeout, error);
}

void shared_bindings::start(std::chrono::milliseconds initial_sync) {
    auto synced = std::make_shared<std::promise<void>>();
    auto ready = synced->get_future();
    impl_->kv.watch([this](kv_change change) { impl_->apply(change); },
                    [synced] { synced->set_value(); });
    if (ready.wait_for(initial_sync) != std::future_status::ready) {
        impl_->log.warn("cluster bindings: initial values not through yet; serving the cache");
    }
}

void shared_bindings::stop() {
    impl_->kv.stop();
}

void shared_bindings::create_instance(const broker::instance_record& instance, completion done) {
    impl_->kv.create(
        instance_key(instance.instance_id), encode_instance(instance),
        [instance, done = impl_->counted(std::move(done))](kv_write_result r) {
            if (r.outcome == kv_write_result::status::exists) {
                done(impl::verdict(decide_instance_create(r.stored, instance), r.revision));
                return;
            }
            done(impl::plain(r));
        });
}

void shared_bindings::create_binding(const broker::binding_record& binding, completion done) {
    impl_->kv.create(
        binding_key(binding.binding_id), encode_binding(binding),
        [binding, done = impl_->counted(std::move(done))](kv_write_result r) {
            if (r.outcome == kv_write_result::status::exists) {
                done(impl::verdict(decide_binding_create(r.stored, binding), r.revision));
                return;
            }
            done(impl::plain(r));
        });
}

void shared_bindings::replace_binding(const broker::binding_record& binding, std::uint64_t revision,
                                      completion done) {
    impl_->kv.update(
        binding_key(binding.binding_id), encode_binding(binding), revision,
        [done = impl_->counted(std::move(done))](kv_write_result r) { done(impl::plain(r)); });
}

void shared_bindings::remove_instance(std::string_view instance_id, completion done) {
    impl_->kv.remove(instance_key(instance_id), [done = impl_->counted(std::move(done))](
                                                    kv_write_result r) { done(impl::plain(r)); });
}

void shared_bindings::remove_binding(std::string_view binding_id, completion done) {
    impl_->kv.remove(binding_key(binding_id), [done = impl_->counted(std::move(done))](
                                                  kv_write_result r) { done(impl::plain(r)); });
}

}  // namespace mgw::cluster
