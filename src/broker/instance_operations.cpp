// Broker module: the OSB operations on service instances (provision, update, deprovision,
// fetch, last_operation). Each answers synchronously, after the change is durable in SQLite.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <mgw/broker/broker_service.hpp>

#include "operation_support.hpp"

namespace mgw::broker {

namespace json = boost::json;

broker_service::reply broker_service::provision(const std::string& instance_id,
                                                std::string_view body, identity_header header) {
    auto decoded = decode_provision(body);
    if (decoded.has_error()) {
        return reply::from(decoded.error());
    }
    auto& request = *decoded;
    auto identity = identity_of(header, request.context);
    if (identity.has_error()) {
        return reply::from(identity.error());
    }
    if (catalog_.find_plan(request.service_id, request.plan_id) == nullptr) {
        return reply::from(unknown_plan(catalog_, request.service_id, request.plan_id));
    }
    if (shared_ != nullptr) {
        {
            // The limit counts the shared store's instances (see README: racing nodes).
            const std::lock_guard lock(store_mutex_);
            if (shared_limit_reached(true, instance_id)) {
                return limit_reached("instances", max_instances_);
            }
        }
        // The shared store decides 201/200/409 (the local cache may lag it by a moment).
        return provision_shared({.instance_id = instance_id,
                                 .service_id = std::move(request.service_id),
                                 .plan_id = std::move(request.plan_id),
                                 .organization_guid = std::move(request.organization_guid),
                                 .space_guid = std::move(request.space_guid),
                                 .context = std::move(request.context),
                                 .parameters = std::move(request.parameters),
                                 .origin = record_origin::broker});
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance_id);
    if (!existing) {
        return store_failure("provision", existing.error());
    }
    if (*existing) {
        const instance_record& old = **existing;
        const bool identical =
            old.service_id == request.service_id && old.plan_id == request.plan_id &&
            old.organization_guid == request.organization_guid &&
            old.space_guid == request.space_guid && old.parameters == request.parameters;
        if (identical) {
            return {.status = 200, .body = std::string(empty_object)};
        }
        return {.status = 409, .body = conflict_body("service instance", instance_id)};
    }
    auto count = store_.instance_count();
    if (!count) {
        return store_failure("provision", count.error());
    }
    if (*count >= max_instances_) {
        return limit_reached("instances", max_instances_);
    }
    const instance_record instance{.instance_id = instance_id,
                                   .service_id = std::move(request.service_id),
                                   .plan_id = std::move(request.plan_id),
                                   .organization_guid = std::move(request.organization_guid),
                                   .space_guid = std::move(request.space_guid),
                                   .context = std::move(request.context),
                                   .parameters = std::move(request.parameters),
                                   .origin = record_origin::broker};
    if (const auto ec = store_.insert_instance(instance)) {
        return store_failure("provision", ec);
    }
    update_gauges();
    log_.info("broker provisioned", {{"instance_id", instance_id},
                                     {"service_id", instance.service_id},
                                     {"plan_id", instance.plan_id},
                                     {"claimed_user", claimed_user(*identity)}});
    return {.status = 201, .body = std::string(empty_object)};
}

broker_service::reply broker_service::update(const std::string& instance_id, std::string_view body,
                                             identity_header header) {
    auto decoded = decode_update(body);
    if (decoded.has_error()) {
        return reply::from(decoded.error());
    }
    const auto& request = *decoded;
    auto identity = identity_of(header, request.context);
    if (identity.has_error()) {
        return reply::from(identity.error());
    }
    if (shared_ != nullptr) {
        // A versioned change in the shared store, applied by every node's watch.
        return update_shared(instance_id, *std::move(decoded), claimed_user(*identity));
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance_id);
    if (!existing) {
        return store_failure("update", existing.error());
    }
    if (!*existing) {
        return {.status = 404,
                .body = description_json("service instance " + instance_id + " does not exist")};
    }
    instance_record instance = **existing;
    if (auto refused = check_update(instance, request)) {
        return reply::from(*refused);
    }
    if (request.parameters && *request.parameters != instance.parameters) {
        instance.parameters = *request.parameters;
        if (const auto ec = store_.update_instance(instance)) {
            return store_failure("update", ec);
        }
        log_.info("broker updated instance parameters",
                  {{"instance_id", instance_id}, {"claimed_user", claimed_user(*identity)}});
    }
    return {.status = 200, .body = std::string(empty_object)};
}

broker_service::reply broker_service::deprovision(const http::request_context& request,
                                                  const std::string& instance_id) {
    // Present and non-empty first: a malformed request is a 400 whether or not it exists.
    if (auto checked = check_delete_ids(request, "", ""); !checked) {
        return reply::from(checked.error());
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance_id);
    if (!existing) {
        return store_failure("deprovision", existing.error());
    }
    if (!*existing) {
        if (shared_ != nullptr) {
            return deprovision_unseen(request, instance_id);
        }
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_delete_ids(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
    }
    if (shared_ != nullptr) {
        return deprovision_shared(instance_id);
    }
    auto removed = store_.delete_instance(instance_id);
    if (!removed) {
        return store_failure("deprovision", removed.error());
    }
    if (!*removed) {
        return {.status = 410, .body = std::string(empty_object)};
    }
    // The Cloud Controller unbinds before it deprovisions; bindings still here (a purge on
    // its side, a retry on ours) go with the instance, keys revoked.
    for (const binding_record& binding : **removed) {
        index_.remove(binding.binding_id);
        if (!binding.key_hash.empty()) {
            metrics_->keys_revoked.Increment();
        }
    }
    update_gauges();
    log_.info(
        "broker deprovisioned",
        {{"instance_id", instance_id},
         {"bindings_removed", (*removed)->size()},
         {"claimed_user", claimed_user(request.header("X-Broker-API-Originating-Identity"))}});
    return {.status = 200, .body = std::string(empty_object)};
}

broker_service::reply broker_service::get_instance(const std::string& instance_id) {
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance_id);
    if (!existing) {
        return store_failure("get_instance", existing.error());
    }
    if (!*existing) {
        return {.status = 404,
                .body = description_json("service instance " + instance_id + " does not exist")};
    }
    const instance_record& instance = **existing;
    return {.status = 200,
            .body = json::serialize(
                json::object{{"service_id", instance.service_id},
                             {"plan_id", instance.plan_id},
                             {"parameters", parameters_value(instance.parameters)}})};
}

broker_service::reply broker_service::instance_last_operation(const http::request_context& request,
                                                              const std::string& instance_id) {
    if (auto checked = check_poll_hints(request, "", ""); !checked) {
        return reply::from(checked.error());
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_instance(instance_id);
    if (!existing) {
        return store_failure("last_operation", existing.error());
    }
    if (!*existing) {
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_poll_hints(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
    }
    return {.status = 200, .body = R"({"state":"succeeded"})"};
}

}  // namespace mgw::broker
