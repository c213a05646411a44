// Routes module: route table updates, pruning and snapshot building.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include <mgw/routes/identifier.hpp>
#include <mgw/routes/route_table.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::routes {

namespace {

std::string make_address(std::string_view host, std::uint16_t port) {
    std::string address;
    const bool ipv6 = host.find(':') != std::string_view::npos;
    address.reserve(host.size() + 8);
    if (ipv6) {
        address += '[';
    }
    address += host;
    if (ipv6) {
        address += ']';
    }
    address += ':';
    address += std::to_string(port);
    return address;
}

void dedup_by_address(endpoint_list& list) {
    order_instances(list);
    std::unordered_set<std::string_view> seen;
    seen.reserve(list.size());
    std::erase_if(list, [&](const endpoint_ptr& e) { return !seen.insert(e->address).second; });
}

}  // namespace

route_table::route_table(route_table_options options) : options_(options) {
    if (options_.max_stale_threshold <= std::chrono::seconds::zero()) {
        throw std::invalid_argument("route table: max stale threshold must be positive");
    }
    publish();
}

std::chrono::seconds route_table::effective_threshold(std::int64_t requested_seconds) const {
    if (requested_seconds <= 0 || requested_seconds > options_.max_stale_threshold.count()) {
        return options_.max_stale_threshold;
    }
    return std::chrono::seconds(requested_seconds);
}

void route_table::insert(const std::string& key, const endpoint_ptr& e, route_clock::time_point now,
                         update_result& result) {
    pool& p = pools_[key];
    const auto it = p.find(e->address);
    if (it == p.end()) {
        p.emplace(e->address, e);
        ++endpoint_count_;
        ++result.added;
        dirty_ = true;
        return;
    }
    if (it->second->static_route && !e->static_route) {
        ++result.skipped_static;
        return;
    }
    if (it->second->same_registration(*e)) {
        it->second->touch(now);
        ++result.refreshed;
        return;
    }
    it->second = e;
    ++result.updated;
    dirty_ = true;
}

update_result route_table::register_endpoint(const registry_message& message,
                                             route_clock::time_point now) {
    update_result result;
    result.has_app_id = message.tags.contains("app_id") && !message.tags.at("app_id").empty();
    if (message.host.empty()) {
        result.rejected = "no host";
        return result;
    }
    if (message.port == 0 && message.tls_port == 0) {
        result.rejected = "no port";
        return result;
    }
    if (message.uris.empty()) {
        result.rejected = "no uris";
        return result;
    }

    auto e = std::make_shared<endpoint>();
    e->tls = message.tls_port != 0;
    e->port = e->tls ? message.tls_port : message.port;
    e->address = make_address(message.host, e->port);
    e->host = message.host;
    e->app = message.app;
    e->private_instance_id = message.private_instance_id;
    e->private_instance_index = message.private_instance_index;
    e->server_cert_domain_san = message.server_cert_domain_san;
    e->route_service_url = message.route_service_url;
    e->isolation_segment = message.isolation_segment;
    e->protocol = message.protocol;
    e->availability_zone = message.availability_zone;
    e->load_balancing = message.load_balancing;
    e->tags = message.tags;
    e->stale_threshold = effective_threshold(message.stale_threshold_in_seconds);
    e->endpoint_updated_at_ns = message.endpoint_updated_at_ns;
    e->touch(now);

    const endpoint_ptr shared = std::move(e);
    bool any_key = false;
    for (const std::string& uri : message.uris) {
        const std::string key = normalise_uri(uri);
        if (key.empty()) {
            continue;
        }
        any_key = true;
        insert(key, shared, now, result);
    }
    if (!any_key) {
        result.rejected = "no uris";
    }
    return result;
}

update_result route_table::unregister_endpoint(const registry_message& message) {
    update_result result;
    result.has_app_id = message.tags.contains("app_id") && !message.tags.at("app_id").empty();
    if (message.host.empty()) {
        result.rejected = "no host";
        return result;
    }
    if (message.port == 0 && message.tls_port == 0) {
        result.rejected = "no port";
        return result;
    }
    const std::string address =
        make_address(message.host, message.tls_port != 0 ? message.tls_port : message.port);
    for (const std::string& uri : message.uris) {
        const auto pool_it = pools_.find(normalise_uri(uri));
        if (pool_it == pools_.end()) {
            continue;
        }
        const auto it = pool_it->second.find(address);
        if (it == pool_it->second.end()) {
            continue;
        }
        if (it->second->static_route) {
            ++result.skipped_static;
            continue;
        }
        // A late unregister from an instance that used to own this address must not remove
        // the instance that owns it now.
        if (!message.private_instance_id.empty() && !it->second->private_instance_id.empty() &&
            message.private_instance_id != it->second->private_instance_id) {
            ++result.skipped_other_instance;
            continue;
        }
        pool_it->second.erase(it);
        --endpoint_count_;
        ++result.removed;
        dirty_ = true;
        // Unlike Promfetcher, keys left empty go away.
        if (pool_it->second.empty()) {
            pools_.erase(pool_it);
        }
    }
    return result;
}

void route_table::add_static(const static_route& route, route_clock::time_point now) {
    if (normalise_uri(route.uri).empty()) {
        throw std::invalid_argument("static route: uri is empty");
    }
    if (route.host.empty()) {
        throw std::invalid_argument("static route " + route.uri + ": host is empty");
    }
    if (route.port == 0 && route.tls_port == 0) {
        throw std::invalid_argument("static route " + route.uri + ": no port");
    }
    auto e = std::make_shared<endpoint>();
    e->tls = route.tls_port != 0;
    e->port = e->tls ? route.tls_port : route.port;
    e->address = make_address(route.host, e->port);
    e->host = route.host;
    e->app = route.tags.contains("app_id") ? route.tags.at("app_id") : std::string{};
    e->private_instance_id = route.private_instance_id;
    e->server_cert_domain_san = route.server_cert_domain_san;
    e->tags = route.tags;
    e->stale_threshold = options_.max_stale_threshold;
    e->static_route = true;
    e->touch(now);
    // A static route replaces a NATS endpoint or an earlier static route at the same address.
    update_result ignored;
    insert(normalise_uri(route.uri), std::move(e), now, ignored);
}

std::size_t route_table::prune(route_clock::time_point now) {
    if (pruning_suspended_) {
        return 0;
    }
    std::size_t pruned = 0;
    for (auto pool_it = pools_.begin(); pool_it != pools_.end();) {
        pruned += std::erase_if(pool_it->second, [&](const auto& entry) {
            const endpoint& e = *entry.second;
            // TLS endpoints are protected by route integrity (SAN check), as in gorouter.
            return !e.static_route && !e.tls && e.last_seen_at() + e.stale_threshold < now;
        });
        pool_it = pool_it->second.empty() ? pools_.erase(pool_it) : std::next(pool_it);
    }
    if (pruned > 0) {
        endpoint_count_ -= pruned;
        dirty_ = true;
    }
    return pruned;
}

void route_table::resume_pruning(route_clock::time_point now) {
    for (const auto& [key, p] : pools_) {
        for (const auto& [address, e] : p) {
            e->touch(now);
        }
    }
    pruning_suspended_ = false;
}

std::shared_ptr<const route_snapshot> route_table::publish() {
    if (!dirty_) {
        return snapshot();
    }
    auto next = std::make_shared<route_snapshot>();
    for (const auto& [key, p] : pools_) {
        endpoint_list& list = next->routes_[key];
        list.reserve(p.size());
        for (const auto& [address, e] : p) {
            list.push_back(e);
            ++next->endpoint_count_;
            const std::string_view app_id = e->tag("app_id");
            if (app_id.empty()) {
                ++next->without_app_id_count_;
                continue;
            }
            if (e->tag("process_type") != "web") {
                continue;
            }
            // Indexed under the canonical UUID spelling, which is what resolve() looks up.
            next->by_app_id_[text::canonical_uuid(app_id).value_or(std::string(app_id))].push_back(
                e);
            next->by_name_[route_snapshot::name_key{std::string(e->tag("organization_name")),
                                                    std::string(e->tag("space_name")),
                                                    std::string(e->tag("app_name"))}]
                .push_back(e);
        }
        order_instances(list);
    }
    for (auto& [app_id, list] : next->by_app_id_) {
        dedup_by_address(list);
    }
    for (auto& [name, list] : next->by_name_) {
        dedup_by_address(list);
    }
    std::shared_ptr<const route_snapshot> published = std::move(next);
    std::shared_ptr<const route_snapshot> previous = published;
    {
        const std::lock_guard lock(snapshot_mutex_);
        snapshot_.swap(previous);
    }
    // `previous` is released here, outside the lock: the last reader of a large table may be us.
    dirty_ = false;
    return published;
}

std::shared_ptr<const route_snapshot> route_table::snapshot() const {
    const std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
}

}  // namespace mgw::routes
