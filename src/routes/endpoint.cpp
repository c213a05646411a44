// Routes module: endpoint helpers.
#include <mgw/routes/endpoint.hpp>

namespace mgw::routes {

std::string_view endpoint::tag(std::string_view key) const {
    const auto it = tags.find(std::string(key));
    return it == tags.end() ? std::string_view{} : std::string_view{it->second};
}

bool endpoint::same_registration(const endpoint& other) const {
    return address == other.address && host == other.host && port == other.port &&
           tls == other.tls && app == other.app &&
           private_instance_id == other.private_instance_id &&
           private_instance_index == other.private_instance_index &&
           server_cert_domain_san == other.server_cert_domain_san &&
           route_service_url == other.route_service_url &&
           isolation_segment == other.isolation_segment && protocol == other.protocol &&
           availability_zone == other.availability_zone && load_balancing == other.load_balancing &&
           tags == other.tags && stale_threshold == other.stale_threshold &&
           static_route == other.static_route;
}

}  // namespace mgw::routes
