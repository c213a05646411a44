// Broker module: the request checks and small helpers the OSB operations share (see
// operation_support.hpp).
#include "operation_support.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace mgw::broker {

namespace json = boost::json;

std::string description_json(std::string_view text) {
    return json::serialize(json::object{{"description", text}});
}

osb_error unknown_plan(const catalog& services, const std::string& service_id,
                       const std::string& plan_id) {
    if (services.find_service(service_id) == nullptr) {
        return {.status = 400,
                .error = "BadRequest",
                .description = "unknown service_id \"" + service_id + "\""};
    }
    return {
        .status = 400,
        .error = "BadRequest",
        .description = "unknown plan_id \"" + plan_id + "\" for service_id \"" + service_id + "\""};
}

// The identity header against the body's context.platform; its claims go to the audit log.
boost::system::result<std::optional<originating_identity>, osb_error> identity_of(
    std::optional<std::string_view> header, const context_fields& context) {
    const auto platform = context.find("platform");
    return decode_originating_identity(header, platform == context.end()
                                                   ? std::string_view()
                                                   : std::string_view(platform->second));
}

// Audit: who the platform says acted ("" when it did not say). Logged, never used to decide.
std::string claimed_user(const std::optional<originating_identity>& identity) {
    if (!identity) {
        return {};
    }
    return identity->user_id.empty() ? identity->platform
                                     : identity->platform + ":" + identity->user_id;
}

std::string claimed_user(std::optional<std::string_view> header) {
    auto identity = decode_originating_identity(header, "");
    return identity ? claimed_user(*identity) : std::string();
}

// DELETE's required service_id / plan_id against the resource's (OSB 2.13/2.14 "Unbinding",
// "Deprovisioning": REQUIRED, "MUST be the ID of the service/plan associated with" it).
boost::system::result<void, osb_error> check_delete_ids(const http::request_context& request,
                                                        std::string_view service_id,
                                                        std::string_view plan_id) {
    if (auto checked = check_query_id("service_id", request.query("service_id"), true, service_id);
        !checked) {
        return checked;
    }
    return check_query_id("plan_id", request.query("plan_id"), true, plan_id);
}

// last_operation's optional hints: if present, non-empty and the resource's.
boost::system::result<void, osb_error> check_poll_hints(const http::request_context& request,
                                                        std::string_view service_id,
                                                        std::string_view plan_id) {
    if (auto checked = check_query_id("service_id", request.query("service_id"), false, service_id);
        !checked) {
        return checked;
    }
    if (auto checked = check_query_id("plan_id", request.query("plan_id"), false, plan_id);
        !checked) {
        return checked;
    }
    // The broker never answers 202, so it never hands out an operation: only emptiness is
    // checked ("If present, MUST be a non-empty string").
    return check_query_id("operation", request.query("operation"), false, "");
}

// A shared store's verdict that ends an operation without a result of its own: it did not
// answer (503: the Cloud Controller retries) or it refused (500). Counted as a store error.
broker_service::reply broker_service::refused_by_store(shared_records::result::status outcome,
                                                       std::string_view what) {
    metrics_->store_errors.Increment();
    if (outcome == shared_records::result::status::unavailable) {
        return {.status = 503,
                .body = description_json(std::string(what) +
                                         ": the cluster's binding store does not answer; retry"),
                .then = nullptr};
    }
    return {.status = 500,
            .body = description_json(std::string(what) + ": the cluster's binding store refused"),
            .then = nullptr};
}

std::string conflict_body(std::string_view what, std::string_view id) {
    return description_json(std::string(what) + " " + std::string(id) +
                            " already exists with different attributes");
}

instance_record adopted_instance(const std::string& instance_id, const bind_request& request) {
    const auto context_field = [&](const char* name) {
        const auto found = request.context.find(name);
        return found == request.context.end() ? std::string() : found->second;
    };
    return {.instance_id = instance_id,
            .service_id = request.service_id,
            .plan_id = request.plan_id,
            .organization_guid = context_field("organization_guid"),
            .space_guid = context_field("space_guid"),
            .context = request.context,
            .parameters = std::string(empty_object),
            .origin = record_origin::adopted};
}

std::optional<osb_error> check_update(const instance_record& instance,
                                      const update_request& request) {
    if (request.service_id != instance.service_id) {
        return osb_error{.status = 400,
                         .error = "BadRequest",
                         .description = "service_id does not match the instance's"};
    }
    if (request.plan_id && *request.plan_id != instance.plan_id) {
        // plan_updateable is false in the catalog: a binding's limits come from its plan.
        return osb_error{.status = 422,
                         .error = "PlanChangeNotSupported",
                         .description =
                             "plans cannot be changed: create a new instance "
                             "with the other plan and bind it instead"};
    }
    return std::nullopt;
}

json::value parameters_value(const std::string& canonical) {
    boost::system::error_code ec;
    json::value value = json::parse(canonical, ec);
    return ec ? json::value(json::object{}) : value;
}

const std::string* context_value(const context_fields& context, const std::string& key) {
    const auto found = context.find(key);
    return found == context.end() || found->second.empty() ? nullptr : &found->second;
}

}  // namespace mgw::broker
