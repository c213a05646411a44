// Broker module: a cluster-wide store of the broker's records that the broker writes before it
// answers (issue 15: a binding made through any node authorises pushes on every node). The
// cluster module implements it over JetStream KV; the broker only knows this interface, so it
// stays independent of cluster and of NATS. Without one, the broker is the single node's, as
// before.
#pragma once

#include <cstdint>
#include <functional>
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
            unavailable,  // the store did not answer in time (503: retry later)
            failed        // refused for another reason (500)
        };
        status outcome = status::unavailable;
        std::uint64_t revision = 0;
    };
    // Called once, on any thread: the broker posts it back to the request's executor.
    using completion = std::function<void(result)>;

    virtual ~shared_records() = default;

    // Never blocking: each answers through `done`.
    virtual void create_instance(const instance_record& instance, completion done) = 0;
    virtual void create_binding(const binding_record& binding, completion done) = 0;
    // Replaces the binding at `revision` (a forwarder's repeated bind: a new key hash); a
    // concurrent change makes it fail.
    virtual void replace_binding(const binding_record& binding, std::uint64_t revision,
                                 completion done) = 0;
    // `created` when gone (also when it was not there).
    virtual void remove_instance(std::string_view instance_id, completion done) = 0;
    virtual void remove_binding(std::string_view binding_id, completion done) = 0;
};

}  // namespace mgw::broker
