// Broker module: Open Service Broker requests decoded and validated without any I/O: the path,
// the X-Broker-API-Version header and the JSON bodies of provision, update and bind.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mgw::broker {

// An OSB error answer: `status` with the body {"error": "...", "description": "..."}.
struct osb_error {
    int status = 400;
    std::string error;  // OSB error code ("RequiresApp") or a short name ("BadRequest")
    std::string description;

    std::string json() const;
};

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
    std::string organization_guid;  // empty when not sent (optional since OSB 2.13 contexts)
    std::string space_guid;
    context_fields context;
    std::string parameters = "{}";  // canonical JSON object (keys sorted)
};

struct update_request {
    std::string service_id;
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
// app gives 422 RequiresApp (the OSB code: only app bindings make sense here).
std::variant<provision_request, osb_error> decode_provision(std::string_view body);
std::variant<update_request, osb_error> decode_update(std::string_view body);
std::variant<bind_request, osb_error> decode_bind(std::string_view body);

// Promfetcher's bind parameters, `{"endpoint": "/path"}`: the path (possibly with a query)
// the app's instances are scraped at. Empty when absent or "" (the default path). 422
// InvalidParameters when it is not a string, not a plain path (`/` first, no `//host`, no
// spaces or controls) or longer than 255 bytes, or when other parameters are present.
std::variant<std::string, osb_error> decode_promfetcher_endpoint(std::string_view parameters);

// The metrics-forwarder takes no parameters: anything but {} gives 422 InvalidParameters.
std::optional<osb_error> check_forwarder_parameters(std::string_view parameters);

}  // namespace mgw::broker
