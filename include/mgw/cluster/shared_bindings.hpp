// Cluster module: broker bindings shared across nodes through an operator-provided JetStream's
// key-value store (issue 15). It is the broker's shared_records (the broker writes there before
// it answers) and it feeds the bucket's changes, made through any node, to this node's broker
// (cache and index). Built from the pure parts (src/cluster/binding_records) and the KV shell
// (src/cluster/binding_kv): blocking nats.c calls stay on the shell's threads, never the loop.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <mgw/broker/broker_service.hpp>
#include <mgw/broker/shared_records.hpp>
#include <mgw/cluster/bindings_status.hpp>
#include <mgw/core/log.hpp>
#include <mgw/nats/client.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::cluster {

struct shared_bindings_options {
    nats::client_options connection;  // the gateway's NATS
    std::string cluster_name;         // bucket mgw_<name>_bindings
    int replicas = 1;                 // 3 when the JetStream cluster has 3+ servers
    // How long open() waits for JetStream (start-up only).
    std::chrono::milliseconds open_timeout{std::chrono::seconds(2)};
};

// Metrics: mgw_cluster_binding_changes_total{result} (applied, stale, unknown_key, undecodable,
// unknown_delete), mgw_cluster_binding_writes_total{result} (created, identical, conflict,
// missing, unavailable, failed), mgw_cluster_binding_imports_total{result} (created, present,
// conflict, deleted, unavailable, failed: the start-up import of a node's pre-cluster rows).
class shared_bindings final : public broker::shared_records {
  public:
    shared_bindings(shared_bindings_options options, broker::broker_service& broker,
                    core::logger& log, prometheus::Registry& registry);
    ~shared_bindings() override;
    shared_bindings(const shared_bindings&) = delete;
    shared_bindings& operator=(const shared_bindings&) = delete;

    // Blocking (start-up, before the loop serves): connects and opens (or creates) the bucket.
    // False with `error` when JetStream does not answer within open_timeout.
    bool open(std::string& error);
    // Starts applying the bucket to the broker (its last values first). Waits up to
    // `initial_sync` for those, so a restarted node serves the cluster's bindings at once.
    void start(std::chrono::milliseconds initial_sync);
    void stop();
    // For the status console: the bucket, the last change applied, JetStream's last answer.
    bindings_store_status status() const;

    void create_instance(const broker::instance_record& instance, completion done) override;
    void create_binding(const broker::binding_record& binding, completion done) override;
    void replace_binding(const broker::binding_record& binding, std::uint64_t revision,
                         completion done) override;
    void remove_instance(std::string_view instance_id, completion done) override;
    void remove_binding(std::string_view binding_id, completion done) override;
    void update_instance_parameters(std::string_view instance_id, std::string parameters,
                                    completion done) override;
    void find_instance(std::string_view instance_id, found<broker::instance_record> done) override;
    void find_binding(std::string_view binding_id, found<broker::binding_record> done) override;
    counts live_counts() const override;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace mgw::cluster
