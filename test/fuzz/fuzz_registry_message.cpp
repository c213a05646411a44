// libFuzzer target for gorouter's router.register / router.unregister decoder, which reads
// whatever any client of the NATS bus publishes. Every input either decodes into a message that
// keeps the decoder's promises (ports in range, a route service only over https, a threshold
// that is not negative) and survives a round trip through JSON unchanged, or is refused with a
// message; decoding is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "mgw/routes/registry_message.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// The message written back as the JSON route-emitter would send for it.
std::string encode(const mgw::routes::registry_message& m) {
    namespace json = boost::json;
    json::object o;
    o["host"] = m.host;
    o["port"] = m.port;
    o["tls_port"] = m.tls_port;
    json::array uris;
    for (const std::string& uri : m.uris) {
        uris.emplace_back(uri);
    }
    o["uris"] = std::move(uris);
    o["app"] = m.app;
    o["private_instance_id"] = m.private_instance_id;
    o["private_instance_index"] = m.private_instance_index;
    o["server_cert_domain_san"] = m.server_cert_domain_san;
    o["route_service_url"] = m.route_service_url;
    o["isolation_segment"] = m.isolation_segment;
    o["protocol"] = m.protocol;
    o["availability_zone"] = m.availability_zone;
    o["endpoint_updated_at_ns"] = m.endpoint_updated_at_ns;
    o["stale_threshold_in_seconds"] = m.stale_threshold_in_seconds;
    json::object tags;
    for (const auto& [key, value] : m.tags) {
        tags[key] = value;
    }
    o["tags"] = std::move(tags);
    o["options"] = json::object{{"loadbalancing", m.load_balancing}};
    return json::serialize(o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A private copy, exactly `size` bytes long, so reads past the end are caught by ASan.
    const std::string buffer(reinterpret_cast<const char*>(data), size);
    const auto result = mgw::routes::decode_registry_message(buffer);
    const auto again = mgw::routes::decode_registry_message(buffer);
    require(result.has_value() == again.has_value());
    if (!result) {
        require(!result.error().message().empty());
        require(result.error().message() == again.error().message());
        require(result.error().code == again.error().code);
        require(&result.error().code.category() == &mgw::routes::error_category());
        return 0;
    }
    const mgw::routes::registry_message& m = *result;
    require(m == *again);
    require(m.route_service_url.empty() || m.route_service_url.starts_with("https"));
    require(m.stale_threshold_in_seconds >= 0);
    const auto round_trip = mgw::routes::decode_registry_message(encode(m));
    require(round_trip.has_value());
    require(*round_trip == m);
    return 0;
}
