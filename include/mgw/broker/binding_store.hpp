// Broker module: the durable state of the service broker in SQLite (WAL, synchronous=FULL):
// service instances and bindings, with the hashed access keys and the custom metrics paths.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <mgw/broker/osb_request.hpp>
#include <mgw/broker/record_origin.hpp>

struct sqlite3;

namespace mgw::broker {

// Startup failure: the database cannot be opened, is locked by another gateway, or has a
// schema this build does not know.
class store_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// SQLite result codes as error_codes (message: sqlite3_errstr), for failures while serving.
const boost::system::error_category& sqlite_category();

struct instance_record {
    std::string instance_id;
    std::string service_id;
    std::string plan_id;
    std::string organization_guid;
    std::string space_guid;
    context_fields context;
    std::string parameters = "{}";  // canonical JSON
    record_origin origin = record_origin::broker;
};

struct binding_record {
    std::string binding_id;
    std::string instance_id;  // empty for a promfetcher_import binding
    std::string service_id;
    std::string plan_id;
    std::string app_guid;
    context_fields context;
    std::string parameters = "{}";
    std::string endpoint;  // promfetcher: the app's custom metrics path; empty: default
    std::string key_hash;  // metrics-forwarder: hash_access_key(access key); empty otherwise
    std::int64_t seq = 0;  // creation order, assigned by insert_binding
    record_origin origin = record_origin::broker;
};

// What importing one of Promfetcher's app_endpoints rows did (or would do).
enum class import_outcome {
    added,      // a new binding
    unchanged,  // the same binding is already there (a second import)
    conflict,   // a binding with that id exists with another app or path: left as it is
};

template <typename T>
using store_result = boost::system::result<T>;

// Not thread-safe: the broker service calls it with its own mutex held.
class binding_store {
  public:
    // 1: instances and bindings. 2: `origin` on both; a binding's instance may be NULL.
    static constexpr int schema_version = 2;

    // Opens or creates the database at `path` ("" = a private in-memory database) and brings
    // its schema to `schema_version`. The file is locked exclusively for the process's life:
    // a second gateway on the same file fails here rather than serving a stale index.
    explicit binding_store(const std::string& path);
    ~binding_store();
    binding_store(const binding_store&) = delete;
    binding_store& operator=(const binding_store&) = delete;

    store_result<std::optional<instance_record>> find_instance(std::string_view instance_id);
    boost::system::error_code insert_instance(const instance_record& instance);
    boost::system::error_code update_instance(const instance_record& instance);
    // Deletes the instance and its bindings (in one transaction); returns the bindings deleted
    // so their keys can be revoked, or nullopt when there was no such instance.
    store_result<std::optional<std::vector<binding_record>>> delete_instance(
        std::string_view instance_id);

    store_result<std::optional<binding_record>> find_binding(std::string_view binding_id);
    // Fills in `seq`.
    boost::system::error_code insert_binding(binding_record& binding);
    boost::system::error_code replace_key_hash(std::string_view binding_id,
                                               std::string_view key_hash);
    // False when there was no such binding.
    store_result<bool> delete_binding(std::string_view binding_id);

    // Everything, in creation order, to build the in-memory index at start.
    store_result<std::vector<binding_record>> bindings();
    // Every instance (the cluster's one-time import of a node's pre-cluster rows).
    store_result<std::vector<instance_record>> instances();
    store_result<std::int64_t> instance_count();
    store_result<std::int64_t> binding_count();

    // Adds `binding` (origin promfetcher_import, no instance) unless a binding with its id
    // exists; the existing one is compared by app and path. Fills in `seq` when added.
    store_result<import_outcome> import_binding(binding_record& binding);

    // A transaction around many calls (the import): BEGIN IMMEDIATE, then commit() or, when
    // destroyed without it, ROLLBACK (a dry run, or a strict import that met a bad row).
    class batch {
      public:
        explicit batch(binding_store& store);
        ~batch();
        batch(const batch&) = delete;
        batch& operator=(const batch&) = delete;
        boost::system::error_code begin_error() const;
        boost::system::error_code commit();

      private:
        sqlite3* db_;
        int rc_;
        bool done_ = false;
    };

  private:
    sqlite3* db_ = nullptr;
};

}  // namespace mgw::broker
