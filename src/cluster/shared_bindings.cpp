// Shared broker bindings: the glue between the broker's shared_records, the KV shell and the
// pure records. A write's verdict is decided from what the bucket holds (binding_records);
// the watch's changes go through the replica (stale replays dropped) to the broker.
#include <future>
#include <map>
#include <mutex>
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
        case status::missing:
            return "missing";
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
    prometheus::Family<prometheus::Counter>& imports;
    binding_kv kv;
    // Written by the watch thread only; read by it and (counts, import) under `replica_mutex`,
    // never held while the broker is called (the broker's own mutex comes first elsewhere).
    mutable std::mutex replica_mutex;
    binding_replica replica;
    std::uint64_t last_revision = 0;  // under replica_mutex: the last change applied
    std::optional<std::chrono::steady_clock::time_point> last_applied;

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
          imports(prometheus::BuildCounter()
                      .Name("mgw_cluster_binding_imports_total")
                      .Help("Pre-cluster broker records of this node's SQLite put into the shared "
                            "bindings bucket at start, by result")
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
            case kv_write_result::status::absent:
                return {.outcome = status::missing, .revision = 0};
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

    void import_cached();

    void apply(const kv_change& change) {
        replica_action action;
        {
            const std::lock_guard lock(replica_mutex);
            action = replica.apply(change);
        }
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
        const std::lock_guard lock(replica_mutex);
        last_revision = change.revision;
        last_applied = std::chrono::steady_clock::now();
    }
};

// The one-time import: every instance and binding of this node's SQLite that the bucket does not
// hold goes there (create-if-absent), so keys issued before cluster mode work on every node.
// Run once the watch's initial values are through (the replica then knows the bucket, delete
// markers included) and before the broker serves, so the writer runs these creates first. At
// every start: rows the bucket holds are `present`, rows it deleted are dropped here.
struct import_tally {
    std::mutex mutex;
    std::map<std::string, std::size_t, std::less<>> counts;
    std::size_t left = 0;
};

void shared_bindings::impl::import_cached() {
    auto local = broker.cached_records();
    if (!local) {
        imports.Add({{"result", "failed"}}).Increment();
        log.warn("cluster bindings: the local cache cannot be read; nothing imported");
        return;
    }
    if (local->instances.empty() && local->bindings.empty()) {
        return;
    }
    auto tally = std::make_shared<import_tally>();
    auto finish = [this, tally](std::string_view outcome) {
        imports.Add({{"result", std::string(outcome)}}).Increment();
        const std::lock_guard lock(tally->mutex);
        ++tally->counts[std::string(outcome)];
        if (tally->left > 0 && --tally->left > 0) {
            return;
        }
        const auto count = [&](const char* name) {
            const auto found = tally->counts.find(std::string_view(name));
            return found == tally->counts.end() ? std::size_t{0} : found->second;
        };
        log.info("cluster bindings: local records imported", {{"created", count("created")},
                                                              {"present", count("present")},
                                                              {"conflict", count("conflict")},
                                                              {"deleted", count("deleted")},
                                                              {"unavailable", count("unavailable")},
                                                              {"failed", count("failed")}});
    };
    const auto written = [](kv_write_result::status s, create_verdict exists) -> std::string_view {
        switch (s) {
            case kv_write_result::status::done:
                return "created";
            case kv_write_result::status::exists:
                return exists == create_verdict::identical ? "present" : "conflict";
            case kv_write_result::status::unavailable:
                return "unavailable";
            case kv_write_result::status::absent:  // a create never answers it
            case kv_write_result::status::failed:
                break;
        }
        return "failed";
    };
    std::vector<std::function<void()>> writes_to_make;
    std::vector<std::string_view> settled;
    const auto entry_of = [this](const std::string& key) {
        const std::lock_guard lock(replica_mutex);
        return replica.entry(key);
    };
    for (const auto& instance : local->instances) {
        const std::string key = instance_key(instance.instance_id);
        const bucket_entry bucket = entry_of(key);
        switch (decide_instance_import(bucket, instance)) {
            case import_verdict::present:
                settled.emplace_back("present");
                break;
            case import_verdict::deleted:
                broker.apply_shared_deprovision(instance.instance_id);
                settled.emplace_back("deleted");
                break;
            case import_verdict::conflict:
                log.warn(
                    "cluster bindings: a local instance differs from the bucket's; the "
                    "bucket's is kept",
                    {{"instance_id", instance.instance_id}});
                if (auto stored = decode_instance(bucket.value)) {
                    broker.apply_shared_instance(*stored);
                }
                settled.emplace_back("conflict");
                break;
            case import_verdict::create:
                writes_to_make.emplace_back([this, key, instance, finish, written] {
                    kv.create(key, encode_instance(instance),
                              [instance, finish, written](kv_write_result r) {
                                  finish(written(r.outcome,
                                                 r.outcome == kv_write_result::status::exists
                                                     ? decide_instance_create(r.stored, instance)
                                                     : create_verdict::create));
                              });
                });
                break;
        }
    }
    for (const auto& binding : local->bindings) {
        const std::string key = binding_key(binding.binding_id);
        const bucket_entry bucket = entry_of(key);
        switch (decide_binding_import(bucket, binding)) {
            case import_verdict::present:
                settled.emplace_back("present");
                break;
            case import_verdict::deleted:
                broker.apply_shared_unbind(binding.binding_id);
                settled.emplace_back("deleted");
                break;
            case import_verdict::conflict:
                log.warn(
                    "cluster bindings: a local binding differs from the bucket's; the "
                    "bucket's is kept",
                    {{"binding_id", binding.binding_id}});
                broker.apply_shared_unbind(binding.binding_id);
                if (auto stored = decode_binding(bucket.value)) {
                    broker.apply_shared_binding(*stored);
                }
                settled.emplace_back("conflict");
                break;
            case import_verdict::create:
                writes_to_make.emplace_back([this, key, binding, finish, written] {
                    kv.create(
                        key, encode_binding(binding),
                        [binding, finish, written](kv_write_result r) {
                            finish(written(r.outcome, r.outcome == kv_write_result::status::exists
                                                          ? decide_binding_create(r.stored, binding)
                                                          : create_verdict::create));
                        });
                });
                break;
        }
    }
    {
        const std::lock_guard lock(tally->mutex);
        tally->left = settled.size() + writes_to_make.size();
    }
    for (const auto outcome : settled) {
        finish(outcome);
    }
    for (auto& write : writes_to_make) {
        write();
    }
}

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
                    [this, synced] {
                        impl_->import_cached();
                        synced->set_value();
                    });
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

void shared_bindings::update_instance_parameters(std::string_view instance_id,
                                                 std::string parameters, completion done) {
    impl_->kv.modify(
        instance_key(instance_id),
        [id = std::string(instance_id), parameters = std::move(parameters)](
            std::string_view stored) { return with_parameters(stored, id, parameters); },
        [done = impl_->counted(std::move(done))](kv_write_result r) { done(impl::plain(r)); });
}

void shared_bindings::find_instance(std::string_view instance_id,
                                    found<broker::instance_record> done) {
    impl_->kv.get(instance_key(instance_id), [id = std::string(instance_id),
                                              done = std::move(done)](kv_write_result r) {
        if (r.outcome == kv_write_result::status::done) {
            auto record = decode_instance(r.stored);
            if (record && record->instance_id == id) {
                done({.outcome = status::created, .revision = r.revision}, std::move(record));
                return;
            }
            done({.outcome = status::failed, .revision = 0}, std::nullopt);
            return;
        }
        done(impl::plain(r), std::nullopt);
    });
}

void shared_bindings::find_binding(std::string_view binding_id,
                                   found<broker::binding_record> done) {
    impl_->kv.get(binding_key(binding_id), [id = std::string(binding_id),
                                            done = std::move(done)](kv_write_result r) {
        if (r.outcome == kv_write_result::status::done) {
            auto record = decode_binding(r.stored);
            if (record && record->binding_id == id) {
                done({.outcome = status::created, .revision = r.revision}, std::move(record));
                return;
            }
            done({.outcome = status::failed, .revision = 0}, std::nullopt);
            return;
        }
        done(impl::plain(r), std::nullopt);
    });
}

bindings_store_status shared_bindings::status() const {
    bindings_store_status out;
    out.shared = true;
    out.bucket = bindings_bucket(impl_->options.cluster_name);
    out.last_answer = impl_->kv.last_answer();
    const std::lock_guard lock(impl_->replica_mutex);
    out.last_revision = impl_->last_revision;
    out.last_applied = impl_->last_applied;
    out.instances = impl_->replica.live_instances();
    out.bindings = impl_->replica.live_bindings();
    return out;
}

broker::shared_records::counts shared_bindings::live_counts() const {
    const std::lock_guard lock(impl_->replica_mutex);
    return {.instances = impl_->replica.live_instances(),
            .bindings = impl_->replica.live_bindings()};
}

}  // namespace mgw::cluster
