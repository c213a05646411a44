// Broker module: Open Service Broker requests decoded and validated without any I/O: the path,
// the X-Broker-API-Version header and the JSON bodies of provision, update and bind.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::broker {

// The kind of an OSB refusal, as an error_code of the category "mgw.broker" (docs/DEVELOPING.md,
// "Errors"); the status and body a platform reads are in osb_error.
enum class errc {
    bad_request = 1,      // 400 BadRequest: malformed body, id, header or query
    invalid_parameters,   // 422 InvalidParameters
    requires_app,         // 422 RequiresApp: a binding without an app
    payload_too_large,    // 413 PayloadTooLarge
    precondition_failed,  // 412 PreconditionFailed: X-Broker-API-Version
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace mgw::broker

template <>
struct boost::system::is_error_code_enum<mgw::broker::errc> : std::true_type {};

namespace mgw::broker {

// An OSB error answer: `status` with the body {"error": "...", "description": "..."}.
struct osb_error {
    int status = 400;
    std::string error;  // OSB error code ("RequiresApp") or a short name ("BadRequest")
    std::string description;
    boost::system::error_code code = make_error_code(errc::bad_request);

    std::string json() const;
};

// Lets result<T, osb_error>::value() throw when misused; the decoders themselves never throw.
[[noreturn]] void throw_exception_from_error(const osb_error& error,
                                             const boost::source_location& location);

struct api_version {
    unsigned major = 0;
    unsigned minor = 0;
};

// "2.14" → {2, 14}; nullopt when the header is not `<major>.<minor>`.
std::optional<api_version> parse_api_version(std::string_view header);

// Where a request under /broker/v2 points. Ids are 1 to 255 visible ASCII characters.
struct broker_path {
    enum class kind { catalog, instance, instance_last_operation, binding, binding_last_operation };

    kind what = kind::catalog;
    std::string instance_id;
    std::string binding_id;
};

// `path` is percent-decoded and starts with /broker/v2/; nullopt for anything else (404).
std::optional<broker_path> parse_broker_path(std::string_view path);

// Platform context kept with instances and bindings: the string fields the Cloud Controller
// sends that name where the app lives (platform, organization_guid, organization_name,
// space_guid, space_name, instance_name). Others are dropped: the store stays bounded.
using context_fields = std::map<std::string, std::string>;

struct provision_request {
    std::string service_id;
    std::string plan_id;
    std::string organization_guid;  // required by OSB 2.13 and 2.14 (deprecated, still REQUIRED)
    std::string space_guid;
    context_fields context;
    std::string parameters = "{}";  // canonical JSON object (keys sorted)
};

struct update_request {
    std::string service_id;
    context_fields context;
    std::optional<std::string> plan_id;
    std::optional<std::string> parameters;  // canonical, when sent
};

struct bind_request {
    std::string service_id;
    std::string plan_id;
    std::string app_guid;  // bind_resource.app_guid, or the deprecated top-level app_guid
    context_fields context;
    std::string parameters = "{}";
};

// Bodies: malformed JSON, a non-object, missing or mistyped ids give 400; a bind without an
// app gives 422 RequiresApp (the OSB code: only app bindings make sense here), one naming two
// different apps (`app_guid` and `bind_resource.app_guid`) 400. Parameters whose canonical
// form is longer than `max_parameters_bytes` give 422 InvalidParameters: they are stored and
// returned by GET, and neither service reads instance parameters.
inline constexpr std::size_t max_parameters_bytes = 4096;
boost::system::result<provision_request, osb_error> decode_provision(std::string_view body);
boost::system::result<update_request, osb_error> decode_update(std::string_view body);
boost::system::result<bind_request, osb_error> decode_bind(std::string_view body);

// Promfetcher's bind parameters, `{"endpoint": "/path"}`: the path (possibly with a query)
// the app's instances are scraped at. Empty when absent or "" (the default path). 422
// InvalidParameters when it is not a string, not a plain path (`/` first, no `//host`, no
// spaces or controls) or longer than 255 bytes, or when other parameters are present.
boost::system::result<std::string, osb_error> decode_promfetcher_endpoint(
    std::string_view parameters);

// The metrics-forwarder takes no parameters: anything but {} gives 422 InvalidParameters.
boost::system::result<void, osb_error> check_forwarder_parameters(std::string_view parameters);

// What X-Broker-API-Originating-Identity claims (OSB 2.13+ "Originating Identity"): who the
// platform says acted. Used for the audit log only, never to decide anything: only the platform
// is authenticated (basic auth), and the user is whatever it says.
struct originating_identity {
    std::string platform;
    std::string user_id;  // the Cloud Foundry profile's "user_id"; empty when absent
};

// `Platform base64(JSON object)`, at most 4 KiB; `platform` must equal the body's
// context.platform when the body has one (`context_platform`, empty otherwise). nullopt without
// the header; 400 when it is malformed: a request that contradicts itself is refused whole.
boost::system::result<std::optional<originating_identity>, osb_error> decode_originating_identity(
    std::optional<std::string_view> header, std::string_view context_platform);

// The service_id / plan_id query parameters of DELETE (required) and last_operation (optional
// hints): 400 when a required one is missing, when one is present but empty (OSB: "MUST be a
// non-empty string"), or when it names another service or plan than the resource's (`expected`
// empty: not checked). `operation`, when present, must be non-empty too.
boost::system::result<void, osb_error> check_query_id(std::string_view name,
                                                      std::optional<std::string_view> value,
                                                      bool required, std::string_view expected);

}  // namespace mgw::broker
