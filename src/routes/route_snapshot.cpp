// Routes module: snapshot lookups and the JSON dump.
#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <string_view>

#include <boost/json.hpp>

#include <mgw/routes/identifier.hpp>
#include <mgw/routes/route_snapshot.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::routes {

namespace {

std::uint64_t instance_order(const endpoint& e) {
    const std::string_view index = e.tag("instance_id");
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), value);
    if (ec != std::errc{} || end != index.data() + index.size() || index.empty()) {
        return std::numeric_limits<std::uint64_t>::max();
    }
    return value;
}

}  // namespace

void order_instances(endpoint_list& endpoints) {
    std::stable_sort(endpoints.begin(), endpoints.end(),
                     [](const endpoint_ptr& a, const endpoint_ptr& b) {
                         const auto ia = instance_order(*a);
                         const auto ib = instance_order(*b);
                         return ia != ib ? ia < ib : a->address < b->address;
                     });
}

endpoint_list route_snapshot::resolve(std::string_view identifier) const {
    const std::optional<std::string> unescaped = path_unescape(identifier);
    return resolve_unescaped(unescaped ? std::string_view(*unescaped) : identifier);
}

endpoint_list route_snapshot::resolve_unescaped(std::string_view id) const {
    std::vector<std::string_view> parts;
    std::string_view rest = id;
    for (;;) {
        const auto slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    if (parts.size() == 3) {
        return find_app(parts[0], parts[1], parts[2]);
    }
    if (const std::optional<std::string> guid = text::canonical_uuid(id)) {
        return find_app_id(*guid);
    }
    return find_route(id);
}

endpoint_list route_snapshot::find_app(std::string_view org, std::string_view space,
                                       std::string_view app) const {
    const auto it = by_name_.find(name_key{std::string(org), std::string(space), std::string(app)});
    return it == by_name_.end() ? endpoint_list{} : it->second;
}

endpoint_list route_snapshot::find_app_id(std::string_view app_id) const {
    const auto it = by_app_id_.find(std::string(app_id));
    return it == by_app_id_.end() ? endpoint_list{} : it->second;
}

endpoint_list route_snapshot::find_route(std::string_view uri) const {
    const auto it = routes_.find(normalise_uri(uri));
    if (it == routes_.end()) {
        return {};
    }
    endpoint_list found;
    found.reserve(it->second.size());
    std::copy_if(it->second.begin(), it->second.end(), std::back_inserter(found),
                 [](const endpoint_ptr& e) { return !e->tag("app_id").empty(); });
    return found;
}

std::string routes_json(const route_snapshot& snapshot, route_clock::time_point now) {
    namespace json = boost::json;
    json::object document;
    for (const auto& [key, endpoints] : snapshot.routes()) {
        json::array list;
        list.reserve(endpoints.size());
        for (const endpoint_ptr& e : endpoints) {
            json::object tags;
            for (const auto& [name, value] : e->tags) {
                tags[name] = value;
            }
            const auto age =
                std::chrono::duration_cast<std::chrono::seconds>(now - e->last_seen_at());
            list.push_back(json::object{
                {"address", e->address},
                {"host", e->host},
                {"port", e->port},
                {"tls", e->tls},
                {"app", e->app},
                {"private_instance_id", e->private_instance_id},
                {"private_instance_index", e->private_instance_index},
                {"server_cert_domain_san", e->server_cert_domain_san},
                {"route_service_url", e->route_service_url},
                {"isolation_segment", e->isolation_segment},
                {"protocol", e->protocol},
                {"availability_zone", e->availability_zone},
                {"load_balancing", e->load_balancing},
                {"tags", std::move(tags)},
                {"ttl", e->stale_threshold.count()},
                {"last_seen_seconds_ago", std::max<std::int64_t>(0, age.count())},
                {"endpoint_updated_at_ns", e->endpoint_updated_at_ns},
                {"static", e->static_route},
            });
        }
        document[key] = std::move(list);
    }
    return json::serialize(document);
}

route_summary summarize(const route_snapshot& snapshot, route_clock::time_point now) {
    route_summary summary;
    summary.routes = snapshot.routes().size();
    summary.endpoints = snapshot.endpoint_count();
    std::set<std::string_view> apps;
    std::set<std::string_view> addresses;
    std::optional<route_clock::time_point> newest;
    std::optional<route_clock::time_point> oldest;
    for (const auto& [route, endpoints] : snapshot.routes()) {
        for (const endpoint_ptr& e : endpoints) {
            if (const std::string_view app_id = e->tag("app_id"); !app_id.empty()) {
                apps.insert(app_id);
                addresses.insert(e->address);
            }
            if (e->static_route) {
                ++summary.static_endpoints;
                continue;
            }
            const route_clock::time_point seen = e->last_seen_at();
            newest = newest ? std::max(*newest, seen) : seen;
            oldest = oldest ? std::min(*oldest, seen) : seen;
        }
    }
    summary.apps = apps.size();
    summary.instances = addresses.size();
    // A refresh between taking `now` and reading last_seen must not show a negative age.
    const auto age = [now](route_clock::time_point seen) {
        return std::max(route_clock::duration::zero(), now - seen);
    };
    if (newest) {
        summary.newest_registration_age = age(*newest);
        summary.oldest_registration_age = age(*oldest);
    }
    return summary;
}

}  // namespace mgw::routes
