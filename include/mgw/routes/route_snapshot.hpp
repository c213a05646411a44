// Routes module: an immutable view of the route table with its lookup indexes. Readers (HTTP
// handlers on any thread) hold a shared_ptr to one and never see it change or block on writers.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <mgw/routes/endpoint.hpp>

namespace mgw::routes {

using endpoint_ptr = std::shared_ptr<const endpoint>;
using endpoint_list = std::vector<endpoint_ptr>;

class route_snapshot {
  public:
    // Every route key (normalised URI) with its endpoints, including endpoints that carry no
    // tags.app_id (those are listed here and counted, never returned by lookups).
    const std::map<std::string, endpoint_list>& routes() const { return routes_; }

    // Promfetcher's identifier resolution. `identifier` is the raw path
    // variable or query value: it is path-unescaped once (kept as-is if malformed), then
    //  - exactly 3 '/'-separated parts: find_app(org, space, app);
    //  - else a UUID in any form uuid.Parse accepts: find_app_id(its canonical form);
    //  - else a route: find_route(identifier).
    endpoint_list resolve(std::string_view identifier) const;
    // The same rules for an identifier already unescaped (by the caller, once).
    endpoint_list resolve_unescaped(std::string_view id) const;

    // Endpoints with tags.process_type "web" and these exact (case-sensitive) names, one per
    // address.
    endpoint_list find_app(std::string_view org, std::string_view space,
                           std::string_view app) const;
    // Endpoints with tags.app_id equal to `app_id` and process_type "web", one per address. A
    // tags.app_id that is a UUID is indexed in its canonical spelling (text::canonical_uuid),
    // so `app_id` must be given in that spelling; other app_ids compare exactly.
    endpoint_list find_app_id(std::string_view app_id) const;
    // The endpoints under the normalised `uri` that carry an app_id, whatever their process type.
    endpoint_list find_route(std::string_view uri) const;

    // (route key, address) pairs.
    std::size_t endpoint_count() const { return endpoint_count_; }
    // Of those, the ones without tags.app_id.
    std::size_t without_app_id_count() const { return without_app_id_count_; }

  private:
    friend class route_table;

    using name_key = std::tuple<std::string, std::string, std::string>;

    std::map<std::string, endpoint_list> routes_;
    std::unordered_map<std::string, endpoint_list> by_app_id_;
    std::map<name_key, endpoint_list> by_name_;
    std::size_t endpoint_count_ = 0;
    std::size_t without_app_id_count_ = 0;
};

// Lists are ordered by instance index (tags.instance_id, numerically), then address, so merged
// output does not depend on registration order.
void order_instances(endpoint_list& endpoints);

// The table as JSON for GET /routes: {"<route key>": [{address, host, port, tls, app,
// private_instance_id, private_instance_index, server_cert_domain_san, route_service_url,
// isolation_segment, protocol, availability_zone, load_balancing, tags, ttl (stale threshold in
// seconds), last_seen_seconds_ago, endpoint_updated_at_ns, static}, ...], ...}. Properly escaped.
std::string routes_json(const route_snapshot& snapshot, route_clock::time_point now);

// The table's size and freshness, for the status console.
struct route_summary {
    std::size_t routes = 0;     // route keys
    std::size_t endpoints = 0;  // (route key, address) pairs
    std::size_t apps = 0;       // distinct tags.app_id
    std::size_t instances = 0;  // distinct addresses among the endpoints that carry an app_id
    std::size_t static_endpoints = 0;
    // How long ago the most and the least recently refreshed endpoint (static ones aside) was
    // last registered; nullopt when the table holds none.
    std::optional<route_clock::duration> newest_registration_age;
    std::optional<route_clock::duration> oldest_registration_age;
};

route_summary summarize(const route_snapshot& snapshot, route_clock::time_point now);

}  // namespace mgw::routes
