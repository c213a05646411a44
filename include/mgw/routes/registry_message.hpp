// Routes module: gorouter's `router.register` / `router.unregister` payload (RegistryMessage)
// and its strict decoder. Bad messages are values, never exceptions, so the subscriber counts them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::routes {

// Field names and types as route-emitter and route_registrar send them.
// Absent and null fields keep these zero values, like Go's encoding/json.
struct registry_message {
    std::string host;
    std::uint16_t port = 0;
    std::uint16_t tls_port = 0;  // non-zero: the backend is TLS-only, address uses this port
    std::vector<std::string> uris;
    std::string app;
    std::string private_instance_id;
    std::string private_instance_index;  // a string on the wire ("0")
    std::string server_cert_domain_san;
    std::string route_service_url;  // empty or https://...
    std::string isolation_segment;
    std::string protocol;  // http1 | http2 | empty
    std::string availability_zone;
    std::int64_t endpoint_updated_at_ns = 0;
    std::int64_t stale_threshold_in_seconds = 0;  // 0: the table's default
    std::map<std::string, std::string> tags;
    std::string load_balancing;  // options.loadbalancing; other option keys are ignored

    bool operator==(const registry_message&) const = default;
};

// The kind of a rejected payload, as an error_code of the category "mgw.routes"
// (docs/DEVELOPING.md, "Errors").
enum class errc {
    invalid_json = 1,  // not JSON
    wrong_type,        // the document is not an object, or a field has the wrong JSON type
    invalid_value,     // an integer out of range, a route_service_url that is not https
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace mgw::routes

template <>
struct boost::system::is_error_code_enum<mgw::routes::errc> : std::true_type {};

namespace mgw::routes {

// Why a payload was rejected: `field` is the JSON key at fault ("" for the document itself).
struct decode_error {
    std::string field;
    std::string reason;
    boost::system::error_code code = make_error_code(errc::invalid_value);

    std::string message() const;
};

// Lets result<T, decode_error>::value() throw when misused; decoders themselves never throw.
[[noreturn]] void throw_exception_from_error(const decode_error& error,
                                             const boost::source_location& location);

using decode_result = boost::system::result<registry_message, decode_error>;

// Decodes one payload. Unknown keys are ignored (routing-release adds fields over time). Rejected:
// invalid JSON, a non-object document, a field of the wrong type, a port outside 0..65535, a
// non-string tag value, a route_service_url that is non-empty and not https.
decode_result decode_registry_message(std::string_view payload);

}  // namespace mgw::routes
