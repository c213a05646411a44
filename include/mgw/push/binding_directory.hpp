// Push module: who may push. The Metrics Forwarder API looks access keys up here; the service
// broker implements it from its binding store, so push does not depend on the broker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mgw::push {

// Per-minute limits of the plan an app is bound with; nullopt means unlimited.
struct rate_limits {
    std::optional<std::uint32_t> requests_per_minute;
    std::optional<std::uint32_t> metrics_per_minute;
};

struct push_binding {
    std::string binding_id;
    std::string app_guid;  // the only app this key may push for
    std::string plan_id;
    rate_limits limits;
    // CF labels known from the bind request's context (organization_id, space_id,
    // organization_name, space_name, ...), used when the route table does not know the app.
    std::map<std::string, std::string> labels;
};

class binding_directory {
  public:
    virtual ~binding_directory() = default;

    // The binding an access key belongs to, or nullopt for an unknown or revoked key. Called
    // concurrently from the I/O threads on every push: an in-memory lookup, never disk I/O.
    virtual std::optional<push_binding> find_by_access_key(std::string_view access_key) const = 0;
};

}  // namespace mgw::push
