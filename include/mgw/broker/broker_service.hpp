// Broker module: the Open Service Broker API v2 under /broker/v2 (basic auth, API version 2.x),
// backed by the SQLite binding store, and the in-memory lookups the push and scrape paths use.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/registry.h>

#include <mgw/broker/binding_index.hpp>
#include <mgw/broker/binding_store.hpp>
#include <mgw/broker/catalog.hpp>
#include <mgw/broker/config.hpp>
#include <mgw/broker/shared_records.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/basic_auth.hpp>
#include <mgw/http/router.hpp>

namespace mgw::broker {

struct update_request;

// The SQLite file the broker keeps its state in: `configured` (broker.database) when set,
// ":memory:" meaning none; when empty, `broker.db` in the first directory of systemd's
// $STATE_DIRECTORY (`state_directory`, null or empty outside such a unit), so that a packaged
// install keeps its bindings across restarts whatever gateway.yml it runs with. "" = memory.
std::string database_path(std::string_view configured, const char* state_directory);

class broker_service {
  public:
    // Opens the store (broker.database, see database_path) and loads every binding into the
    // index. Throws store_error when the database cannot be used: a startup misconfiguration.
    // `push_endpoint`: the full URL handed out as the forwarder's credentials endpoint.
    broker_service(const broker_config& config, std::string push_endpoint, core::logger& log,
                   prometheus::Registry& registry);
    ~broker_service();
    broker_service(const broker_service&) = delete;
    broker_service& operator=(const broker_service&) = delete;

    // GET, PUT, PATCH and DELETE under /broker/v2/.
    void register_routes(http::router& router);

    // For the Metrics Forwarder API: access key → binding. Outlives nothing: the gateway keeps
    // the service alive as long as the push path.
    const push::binding_directory& directory() const { return index_; }
    // For the status console: the push bindings (never their keys), by binding id.
    std::vector<push::push_binding> push_bindings() const { return index_.push_bindings(); }
    // For the app endpoint: the path set by the app's promfetcher binding, if any.
    std::optional<std::string> custom_metric_path(std::string_view app_guid) const {
        return index_.custom_metric_path(app_guid);
    }

    const catalog& services() const { return catalog_; }

    // Cluster mode with a shared store (JetStream KV): provision, bind, unbind and deprovision
    // write there first and answer from its verdict (503 when it does not answer); the local
    // SQLite becomes this node's cache of it. Before serving; `shared` outlives the service.
    void set_shared_records(shared_records* shared) { shared_ = shared; }
    // A change of the shared store (made through any node), applied to the local cache and the
    // index: the key authorises (or stops authorising) pushes here. Any thread; idempotent.
    void apply_shared_instance(const instance_record& instance);
    void apply_shared_binding(const binding_record& binding);
    void apply_shared_unbind(std::string_view binding_id);
    void apply_shared_deprovision(std::string_view instance_id);
    // This node's cache as it stands (cluster mode: the one-time import of the rows a node kept
    // from single-node days); nullopt when SQLite cannot be read.
    struct local_records {
        std::vector<instance_record> instances;
        std::vector<binding_record> bindings;
    };
    std::optional<local_records> cached_records();

  private:
    struct reply;
    struct metrics;

    // The X-Broker-API-Originating-Identity header of the request being served (audit only).
    using identity_header = std::optional<std::string_view>;

    boost::asio::awaitable<void> handle(http::request_context& request, http::response& response);
    reply dispatch(const http::request_context& request, std::string_view& operation);
    reply provision(const std::string& instance_id, std::string_view body,
                    identity_header identity);
    reply update(const std::string& instance_id, std::string_view body, identity_header identity);
    reply deprovision(const http::request_context& request, const std::string& instance_id);
    reply get_instance(const std::string& instance_id);
    reply instance_last_operation(const http::request_context& request,
                                  const std::string& instance_id);
    reply bind(const std::string& instance_id, const std::string& binding_id, std::string_view body,
               identity_header identity);
    reply unbind(const http::request_context& request, const std::string& instance_id,
                 const std::string& binding_id);
    reply get_binding(const std::string& instance_id, const std::string& binding_id);
    reply binding_last_operation(const http::request_context& request,
                                 const std::string& instance_id, const std::string& binding_id);
    reply store_failure(std::string_view what, const boost::system::error_code& ec);
    reply limit_reached(std::string_view what, std::uint32_t limit);

    // The index entry of a stored binding (key or path), from its record and its instance.
    void index_binding(const binding_record& binding);
    void update_gauges();
    // The shared-store halves of the write operations (shared_operations.cpp).
    reply provision_shared(instance_record instance);
    reply bind_shared(binding_record binding, std::optional<instance_record> adopted,
                      bool rotate_key, std::string answer);
    reply unbind_shared(std::string binding_id);
    reply deprovision_shared(std::string instance_id);
    reply update_shared(std::string instance_id, update_request request, std::string user);
    // Unbind / deprovision of a record this node's cache does not hold (yet): the store is
    // asked before the answer is 410.
    reply unbind_unseen(const http::request_context& request, std::string instance_id,
                        std::string binding_id);
    reply deprovision_unseen(const http::request_context& request, std::string instance_id);
    boost::asio::awaitable<reply> unbind_in_store(std::string binding_id);
    boost::asio::awaitable<reply> deprovision_in_store(std::string instance_id,
                                                       std::vector<std::string> bindings);
    // The shared store's 503 (no answer) or 500 (refused), counted (operation_support.cpp).
    reply refused_by_store(shared_records::result::status outcome, std::string_view what);
    // With the store mutex held: the cached bindings of an instance (nullopt: SQLite failed).
    std::optional<std::vector<std::string>> cached_bindings_of(std::string_view instance_id);
    // With the store mutex held: the shared store's count limit reached for a new instance
    // (`instance`) or binding `id` (one the cache holds is a repeat, not a new one).
    bool shared_limit_reached(bool instance, std::string_view id);
    // With the store mutex held: the binding into the cache (its instance must be there) and
    // the index; false when the cache cannot be read. apply_or_fail takes the mutex.
    bool apply_binding_locked(const binding_record& binding);
    bool apply_or_fail(const binding_record& binding);

    catalog catalog_;
    http::basic_credentials credentials_;
    std::uint32_t max_instances_;
    std::uint32_t max_bindings_;
    std::string push_endpoint_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
    // SQLite calls are made synchronously on the I/O thread that serves the request, one at a
    // time under this mutex: the Cloud Controller sends a few broker requests per app
    // lifetime, each statement is a single-row change (one fsync with synchronous=FULL), and
    // the reply must not be sent before the change is durable. Posting them elsewhere would
    // add a thread and a hop for no throughput anyone needs; the push path never waits on
    // this mutex (it reads the index).
    std::mutex store_mutex_;
    binding_store store_;
    binding_index index_;
    shared_records* shared_ = nullptr;
};

}  // namespace mgw::broker
