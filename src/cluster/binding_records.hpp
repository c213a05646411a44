// Cluster module: the pure parts of shared broker bindings (issue 15, cluster.md §2c). Where
// JetStream is available its key-value bucket `mgw_<name>_bindings` is the source of truth for
// service instances and bindings; every node watches it and keeps its in-memory binding index
// (what authorises pushes) and its local SQLite cache in step. This file holds what needs no
// socket: the bucket and key names, the versioned JSON of a stored record, the decision a
// provision or bind takes against what the bucket already holds, and the replica that turns a
// watched change into what the index must do. The NATS shell only moves bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <mgw/broker/binding_index.hpp>
#include <mgw/broker/binding_store.hpp>

namespace mgw::cluster {

// Bumped when a stored record changes shape; a node refuses (and counts) records of a version it
// does not know rather than guess at them.
inline constexpr std::uint64_t binding_record_version = 1;

// `mgw_<cluster name>_bindings` (a cluster name is [A-Za-z0-9_-], all valid in a bucket name).
std::string bindings_bucket(std::string_view cluster_name);

// First 32 hex digits (128 bits) of SHA-256 of an OSB id: OSB ids are free strings, KV keys
// allow only [A-Za-z0-9_=/.-].
std::string osb_id_hash(std::string_view osb_id);
// `si.<hash>` for a service instance, `sb.<hash>` for a binding.
std::string instance_key(std::string_view instance_id);
std::string binding_key(std::string_view binding_id);

enum class key_kind { instance, binding };
// What a key of the bucket names; nullopt for a key this version does not write.
std::optional<key_kind> kind_of_key(std::string_view key);

// A record as stored under its key: JSON object with "v" (binding_record_version) and "kind"
// ("instance" / "binding"). A binding keeps the SHA-256 of its access key, never the key; its
// `seq` (a node-local creation order) is not stored.
std::string encode_instance(const broker::instance_record& instance);
std::string encode_binding(const broker::binding_record& binding);
// nullopt: not JSON, another kind, another version, a missing or mistyped field.
std::optional<broker::instance_record> decode_instance(std::string_view text);
std::optional<broker::binding_record> decode_binding(std::string_view text);

// PATCH (instance parameters) as a versioned change of the stored instance: the record with
// `parameters` in place of its own, re-encoded; nullopt when it does not decode or is another
// instance's (refused rather than overwritten).
std::optional<std::string> with_parameters(std::string_view stored, std::string_view instance_id,
                                           std::string_view parameters);

// What a provision or bind means against the bucket's current record under the same key
// (OSB: the same attributes again is 200, different ones 409).
enum class create_verdict {
    create,     // nothing stored (or only a delete marker): create it
    identical,  // stored with the same attributes: 200 (a forwarder bind rotates its key)
    conflict,   // stored with different attributes: 409
    unreadable  // the stored value does not decode: refuse (500) rather than overwrite it
};
// `stored`: the encoded record the bucket holds, nullopt when none.
create_verdict decide_instance_create(std::optional<std::string_view> stored,
                                      const broker::instance_record& wanted);
create_verdict decide_binding_create(std::optional<std::string_view> stored,
                                     const broker::binding_record& wanted);

// What the bucket holds under a key, as this node's watch has seen it.
struct bucket_entry {
    enum class state {
        absent,  // never written (or purged away)
        live,    // `value` is the record
        deleted  // a delete marker: the cluster removed the record
    };
    state held = state::absent;
    std::string value;
};

// What the one-time import of a node's pre-cluster rows (its SQLite from single-node days) does
// with one local record against the bucket: create-if-absent, the bucket always wins.
enum class import_verdict {
    create,    // absent: write it (as a create: a record appearing meanwhile is kept)
    present,   // the bucket holds the same record: nothing to do
    conflict,  // the bucket holds a different one (or one it cannot read): the bucket's stays,
               // the local row follows it; logged and counted
    deleted    // the bucket holds a delete marker: removed through some node; the local row goes
};
import_verdict decide_instance_import(const bucket_entry& bucket,
                                      const broker::instance_record& local);
import_verdict decide_binding_import(const bucket_entry& bucket,
                                     const broker::binding_record& local);

// One entry of the bucket's watch (last value per key first, then every change).
struct kv_change {
    enum class op { put, remove };  // remove: KV delete or purge
    op operation = op::put;
    std::string key;
    std::uint64_t revision = 0;  // the stream sequence: only grows per key
    std::string value;           // for put
};

// What applying a change asks of the node: store (SQLite cache) and index follow.
struct put_instance {
    broker::instance_record instance;
};
struct put_binding {
    broker::binding_record binding;
};
struct remove_instance {
    std::string instance_id;
};
struct remove_binding {
    std::string binding_id;
};
struct ignore_change {
    enum class reason { stale, unknown_key, undecodable, unknown_delete };
    reason why;
};
using replica_action =
    std::variant<put_instance, put_binding, remove_instance, remove_binding, ignore_change>;

// The node's view of the bucket, fed by the watch. A delete marker carries only its key, so the
// replica remembers which instance or binding id each key held; a revision not above the last one
// seen for its key is stale (a watch restarted after a reconnect replays the last values).
class binding_replica {
  public:
    replica_action apply(const kv_change& change);

    // The instance and binding ids currently held, by key (for the status and the tests).
    const std::map<std::string, std::string, std::less<>>& ids_by_key() const { return ids_; }
    // The key as the watch last saw it (the import's view of the bucket).
    bucket_entry entry(std::string_view key) const;
    // Live records by kind (the shared limits count these).
    std::size_t live_instances() const { return live_instances_; }
    std::size_t live_bindings() const { return ids_.size() - live_instances_; }

  private:
    std::map<std::string, std::uint64_t, std::less<>> revisions_;
    std::map<std::string, std::string, std::less<>> ids_;
    std::map<std::string, std::string, std::less<>> values_;  // live keys' last values
    std::size_t live_instances_ = 0;
};

// What a forwarder binding authorises (its plan's limits, its labels), or nullopt when the binding
// is a promfetcher one or its plan is unknown: the broker's catalog decides, not the cluster.
using push_entry_resolver =
    std::function<std::optional<push::push_binding>(const broker::binding_record&)>;
// True when `binding` is a promfetcher binding (it sets a metrics path, not a key).
using promfetcher_test = std::function<bool(const broker::binding_record&)>;

// Applies a binding change to the push path's index: a forwarder binding's key hash authorises
// pushes (a new hash for the same binding replaces the old one at once), a promfetcher binding
// sets its app's metrics path, a removal revokes. Instance changes leave the index alone (their
// bindings are removed one by one by the writer). Returns true when the index changed.
bool apply_to_index(const replica_action& action, broker::binding_index& index,
                    const promfetcher_test& is_promfetcher, const push_entry_resolver& resolve);

}  // namespace mgw::cluster
