// Broker module: what the rest of the gateway asks the broker while serving, answered from
// memory: the binding an access key belongs to (push) and an app's custom metrics path (scrape).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <mgw/push/binding_directory.hpp>

namespace mgw::broker {

// Thread-safe: lookups take a shared lock (many I/O threads at once), updates an exclusive
// one; no lock is ever held across I/O. Built from the store at start, then kept in step with
// it by the broker service after each committed change.
class binding_index final : public push::binding_directory {
  public:
    // A binding is one thing at a time: adding it (either way) replaces whatever the index held
    // for its id, at once (a changed record in the cluster's bucket may change its kind or app).
    // A forwarder binding reachable by the key whose hash is `key_hash`. A binding has one
    // key: adding it again (key rotation) replaces the old one, which stops working at once.
    void add_key(std::string key_hash, push::push_binding binding);
    // A promfetcher binding: the app's custom metrics path ("" = the default). The most
    // recent promfetcher binding of an app decides (Promfetcher keeps only the latest).
    void add_metrics_path(std::string_view binding_id, std::string_view app_guid, std::int64_t seq,
                          std::string path);
    // Forgets the binding, whichever kind: its key stops working at once.
    void remove(std::string_view binding_id);

    std::optional<push::push_binding> find_by_access_key(
        std::string_view access_key) const override;
    // nullopt: the app has no promfetcher binding, or its latest one set no endpoint.
    std::optional<std::string> custom_metric_path(std::string_view app_guid) const;

    std::size_t key_count() const;
    // The push (forwarder) bindings, by binding id; never their keys. For the status console.
    std::vector<push::push_binding> push_bindings() const;
    std::size_t metrics_path_bindings() const;

  private:
    // Drops the binding's key and metrics path entries; the caller holds the exclusive lock.
    void forget_locked(const std::string& binding_id);

    struct path_binding {
        std::string binding_id;
        std::string path;
    };

    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, push::push_binding> by_key_hash_;
    std::unordered_map<std::string, std::string> key_hash_by_binding_;
    // app_guid → (seq → binding): the last entry is the one in force.
    std::map<std::string, std::map<std::int64_t, path_binding>, std::less<>> paths_by_app_;
    std::unordered_map<std::string, std::string> app_by_path_binding_;
};

}  // namespace mgw::broker
