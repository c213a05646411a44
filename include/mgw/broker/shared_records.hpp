// Broker module: a cluster-wide store of the broker's records that the broker writes before it
// answers (issue 15: a binding made through any node authorises pushes on every node). The
// cluster module implements it over JetStream KV; the broker only knows this interface, so it
// stays independent of cluster and of NATS. Without one, the broker is the single node's, as
// before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <mgw/broker/binding_store.hpp>

namespace mgw::broker {

class shared_records {
  public:
    struct result {
        enum class status {
            created,      // written
            identical,    // a create met the same record (OSB 200); `revision` is its revision
            conflict,     // a create met a different record (OSB 409)
            missing,      // a read or an update found no record (OSB 404 / 410)
            unavailable,  // the store did not answer in time (503: retry later)
            failed        // refused for another reason (500)
        };
        status outcome = status::unavailable;
        std::uint64_t revision = 0;
    };
    // Called once, on any thread: the broker posts it back to the request's executor.
    using completion = std::function<void(result)>;
    // A read: `created` with the record, `missing` without one, or why it could not read.
    template <typename Record>
    using found = std::function<void(result, std::optional<Record>)>;

    virtual ~shared_records() = default;

    // Never blocking: each answers through `done`.
    virtual void create_instance(const instance_record& instance, completion done) = 0;
    virtual void create_binding(const binding_record& binding, completion done) = 0;
    // Replaces the binding at `revision` (a forwarder's repeated bind: a new key hash); a
    // concurrent change makes it fail.
    virtual void replace_binding(const binding_record& binding, std::uint64_t revision,
                                 completion done) = 0;
    // PATCH: the stored instance's parameters replaced, as a compare-and-set on its revision
    // (retried when another node's write comes between); `missing` when it is not there.
    virtual void update_instance_parameters(std::string_view instance_id, std::string parameters,
                                            completion done) = 0;
    // What the store holds now (the local cache may lag it by the watch's propagation).
    virtual void find_instance(std::string_view instance_id, found<instance_record> done) = 0;
    virtual void find_binding(std::string_view binding_id, found<binding_record> done) = 0;
    // Live records in the store as this node's watch has seen them (the count limits).
    struct counts {
        std::size_t instances = 0;
        std::size_t bindings = 0;
    };
    virtual counts live_counts() const = 0;
    // `created` when gone (also when it was not there).
    virtual void remove_instance(std::string_view instance_id, completion done) = 0;
    virtual void remove_binding(std::string_view binding_id, completion done) = 0;
};

}  // namespace mgw::broker
