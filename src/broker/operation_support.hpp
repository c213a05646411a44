// Broker module: what the OSB operations share. broker_service.cpp is the HTTP shell (auth,
// version, dispatch, counters); instance_operations.cpp and binding_operations.cpp hold the
// operations on each kind of resource. Between them: the reply of an operation, the broker's
// counters, and the request checks the OSB specification asks of several operations
// (operation_support.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/broker/broker_service.hpp>
#include <mgw/broker/osb_request.hpp>

namespace mgw::broker {

inline constexpr std::string_view empty_object = "{}";

// {"description": text}: the body of a refusal that has no OSB error code.
std::string description_json(std::string_view text);

struct broker_service::reply {
    int status = 200;
    std::string body{empty_object};
    // With a shared store: the rest of the operation, run after the checks, awaiting the
    // store's answer off the I/O thread; its reply is the answer.
    std::function<boost::asio::awaitable<reply>()> then = nullptr;

    static reply from(const osb_error& error) {
        return {.status = error.status, .body = error.json()};
    }
};
struct broker_service::metrics {
    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Counter& store_errors;
    prometheus::Counter& keys_issued;
    prometheus::Counter& keys_revoked;
    prometheus::Gauge& instances;
    prometheus::Family<prometheus::Gauge>& bindings;
    prometheus::Gauge& forwarder_bindings;
    prometheus::Gauge& promfetcher_bindings;
    prometheus::Family<prometheus::Counter>& refused;
    prometheus::Counter& instance_limit;
    prometheus::Counter& binding_limit;
    prometheus::Counter& adopted;

    explicit metrics(prometheus::Registry& registry);
};

// 400 for a service_id the catalog does not know, or a plan_id it does not know for it.
osb_error unknown_plan(const catalog& services, const std::string& service_id,
                       const std::string& plan_id);

// The identity header against the body's context.platform; its claims go to the audit log.
boost::system::result<std::optional<originating_identity>, osb_error> identity_of(
    std::optional<std::string_view> header, const context_fields& context);

// Audit: who the platform says acted ("" when it did not say). Logged, never used to decide.
std::string claimed_user(const std::optional<originating_identity>& identity);
std::string claimed_user(std::optional<std::string_view> header);

// DELETE's required service_id / plan_id against the resource's (OSB 2.13/2.14 "Unbinding",
// "Deprovisioning": REQUIRED, "MUST be the ID of the service/plan associated with" it).
boost::system::result<void, osb_error> check_delete_ids(const http::request_context& request,
                                                        std::string_view service_id,
                                                        std::string_view plan_id);

// last_operation's optional hints: if present, non-empty and the resource's.
boost::system::result<void, osb_error> check_poll_hints(const http::request_context& request,
                                                        std::string_view service_id,
                                                        std::string_view plan_id);

// The 409 body of a provision or bind that met the same id with other attributes; `what` is
// "service instance" or "service binding".
std::string conflict_body(std::string_view what, std::string_view id);

// The instance a bind adopts when the broker never provisioned it (the broker the gateway took
// the registration over from did): from the bind's ids and context.
instance_record adopted_instance(const std::string& instance_id, const bind_request& request);

// PATCH's request against the instance it changes: the service must be the instance's, the
// plan cannot change (plan_updateable is false); nullopt when it may go ahead.
std::optional<osb_error> check_update(const instance_record& instance,
                                      const update_request& request);

// The stored canonical parameters as JSON ({} when they do not parse).
boost::json::value parameters_value(const std::string& canonical);

// A context field, null when absent or empty.
const std::string* context_value(const context_fields& context, const std::string& key);

}  // namespace mgw::broker
