// Broker module: the OSB operations on service bindings (bind, unbind, fetch, last_operation)
// and the index entry a stored binding becomes: a forwarder access key (only its hash is kept)
// or a Promfetcher metrics path. Each answers synchronously, after the change is durable.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <mgw/broker/broker_service.hpp>

#include "access_key.hpp"
#include "operation_support.hpp"

namespace mgw::broker {

namespace json = boost::json;

broker_service::reply broker_service::bind(const std::string& instance_id,
                                           const std::string& binding_id, std::string_view body,
                                           identity_header header) {
    auto decoded = decode_bind(body);
    if (decoded.has_error()) {
        return reply::from(decoded.error());
    }
    auto& request = *decoded;
    auto identity = identity_of(header, request.context);
    if (identity.has_error()) {
        return reply::from(identity.error());
    }
    const service* svc = catalog_.find_service(request.service_id);
    if (svc == nullptr || catalog_.find_plan(request.service_id, request.plan_id) == nullptr) {
        return reply::from(unknown_plan(catalog_, request.service_id, request.plan_id));
    }
    std::string endpoint;
    if (svc->kind == service_kind::promfetcher) {
        auto path = decode_promfetcher_endpoint(request.parameters);
        if (path.has_error()) {
            return reply::from(path.error());
        }
        endpoint = *std::move(path);
    } else if (auto checked = check_forwarder_parameters(request.parameters); !checked) {
        return reply::from(checked.error());
    }

    const std::lock_guard lock(store_mutex_);
    auto instance = store_.find_instance(instance_id);
    if (!instance) {
        return store_failure("bind", instance.error());
    }
    if (*instance && ((*instance)->service_id != request.service_id ||
                      (*instance)->plan_id != request.plan_id)) {
        return reply::from({.status = 400,
                            .error = "BadRequest",
                            .description = "service_id and plan_id must be the instance's"});
    }
    auto existing = store_.find_binding(binding_id);
    if (!existing) {
        return store_failure("bind", existing.error());
    }
    const bool forwarder = svc->kind == service_kind::metrics_forwarder;
    std::optional<std::string> key;
    if (forwarder) {
        key = generate_access_key();
        if (!key) {
            metrics_->store_errors.Increment();
            log_.error("broker cannot generate an access key", {{"binding_id", binding_id}});
            return {.status = 500, .body = description_json("cannot generate an access key")};
        }
    }
    json::object credentials;
    if (forwarder) {
        credentials = {{"endpoint", push_endpoint_}, {"access_key", *key}};
    } else if (!endpoint.empty()) {
        credentials = {{"endpoint", endpoint}};
    }
    const std::string answer = credentials.empty()
                                   ? std::string(empty_object)
                                   : json::serialize(json::object{{"credentials", credentials}});

    if (shared_ != nullptr) {
        // The limits count the shared store's records (see README: racing nodes); an adopted
        // instance's is checked against the store itself (bind_shared).
        if (shared_limit_reached(false, binding_id)) {
            return limit_reached("bindings", max_bindings_);
        }
        // The shared store decides 201/200/409; an instance it does not know yet is adopted
        // there first (as below, locally).
        std::optional<instance_record> adopted;
        if (!*instance) {
            adopted = adopted_instance(instance_id, request);
        }
        return bind_shared({.binding_id = binding_id,
                            .instance_id = instance_id,
                            .service_id = request.service_id,
                            .plan_id = request.plan_id,
                            .app_guid = request.app_guid,
                            .context = std::move(request.context),
                            .parameters = request.parameters,
                            .endpoint = endpoint,
                            .key_hash = key ? hash_access_key(*key) : std::string(),
                            .seq = 0,
                            .origin = record_origin::broker},
                           std::move(adopted), forwarder, answer);
    }
    if (*existing) {
        binding_record binding = std::move(**existing);
        // An imported Promfetcher binding knows no instance: any instance may repeat it.
        const bool same_instance = binding.instance_id == instance_id ||
                                   binding.origin == record_origin::promfetcher_import;
        const bool identical = same_instance && binding.service_id == request.service_id &&
                               binding.plan_id == request.plan_id &&
                               binding.app_guid == request.app_guid &&
                               binding.parameters == request.parameters;
        if (!identical) {
            return {.status = 409, .body = conflict_body("service binding", binding_id)};
        }
        if (forwarder) {
            // Only the key's hash is kept, so the same key cannot be handed out twice. A
            // repeated bind (the Cloud Controller retrying after a lost answer) gets a new key
            // and the old one stops working: whoever holds the answer holds the only key.
            binding.key_hash = hash_access_key(*key);
            if (const auto ec = store_.replace_key_hash(binding_id, binding.key_hash)) {
                return store_failure("bind", ec);
            }
            index_binding(binding);
            metrics_->keys_issued.Increment();
            metrics_->keys_revoked.Increment();
        }
        return {.status = 200, .body = answer};
    }

    auto count = store_.binding_count();
    if (!count) {
        return store_failure("bind", count.error());
    }
    if (*count >= max_bindings_) {
        return limit_reached("bindings", max_bindings_);
    }
    // The instance and the binding are written together or not at all (a 500 leaves nothing).
    binding_store::batch change(store_);
    if (const auto ec = change.begin_error()) {
        return store_failure("bind", ec);
    }
    const bool adopt = !*instance;
    if (adopt) {
        // Provisioned by the broker this gateway took the registration over from (Promfetcher's
        // kept no instances): the Cloud Controller knows it, so the gateway adopts it.
        auto instances = store_.instance_count();
        if (!instances) {
            return store_failure("bind", instances.error());
        }
        if (*instances >= max_instances_) {
            return limit_reached("instances", max_instances_);
        }
        const instance_record adopted = adopted_instance(instance_id, request);
        if (const auto ec = store_.insert_instance(adopted)) {
            return store_failure("bind", ec);
        }
    }
    binding_record binding{.binding_id = binding_id,
                           .instance_id = instance_id,
                           .service_id = request.service_id,
                           .plan_id = request.plan_id,
                           .app_guid = request.app_guid,
                           .context = std::move(request.context),
                           .parameters = request.parameters,
                           .endpoint = endpoint,
                           .key_hash = key ? hash_access_key(*key) : std::string(),
                           .seq = 0,
                           .origin = record_origin::broker};
    if (const auto ec = store_.insert_binding(binding)) {
        return store_failure("bind", ec);
    }
    if (const auto ec = change.commit()) {
        return store_failure("bind", ec);
    }
    index_binding(binding);
    if (forwarder) {
        metrics_->keys_issued.Increment();
    }
    if (adopt) {
        metrics_->adopted.Increment();
        log_.info("broker adopted an instance it had not provisioned",
                  {{"instance_id", instance_id}, {"service_id", binding.service_id}});
    }
    update_gauges();
    log_.info("broker bound", {{"instance_id", instance_id},
                               {"binding_id", binding_id},
                               {"app_guid", binding.app_guid},
                               {"service", svc->name},
                               {"claimed_user", claimed_user(*identity)}});
    return {.status = 201, .body = answer};
}

broker_service::reply broker_service::unbind(const http::request_context& request,
                                             const std::string& instance_id,
                                             const std::string& binding_id) {
    if (auto checked = check_delete_ids(request, "", ""); !checked) {
        return reply::from(checked.error());
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_binding(binding_id);
    if (!existing) {
        return store_failure("unbind", existing.error());
    }
    if (!*existing || ((*existing)->instance_id != instance_id &&
                       (*existing)->origin != record_origin::promfetcher_import)) {
        if (!*existing && shared_ != nullptr) {
            return unbind_unseen(request, instance_id, binding_id);
        }
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_delete_ids(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
    }
    if (shared_ != nullptr) {
        return unbind_shared(binding_id);
    }
    auto deleted = store_.delete_binding(binding_id);
    if (!deleted) {
        return store_failure("unbind", deleted.error());
    }
    // Durable first, then revoked in memory: the key stops working before the answer leaves.
    index_.remove(binding_id);
    if (!(*existing)->key_hash.empty()) {
        metrics_->keys_revoked.Increment();
    }
    update_gauges();
    log_.info(
        "broker unbound",
        {{"instance_id", instance_id},
         {"binding_id", binding_id},
         {"claimed_user", claimed_user(request.header("X-Broker-API-Originating-Identity"))}});
    return {.status = 200, .body = std::string(empty_object)};
}

broker_service::reply broker_service::get_binding(const std::string& instance_id,
                                                  const std::string& binding_id) {
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_binding(binding_id);
    if (!existing) {
        return store_failure("get_binding", existing.error());
    }
    if (!*existing || ((*existing)->instance_id != instance_id &&
                       (*existing)->origin != record_origin::promfetcher_import)) {
        return {.status = 404,
                .body = description_json("service binding " + binding_id + " does not exist")};
    }
    const binding_record& binding = **existing;
    json::object credentials;
    if (!binding.key_hash.empty()) {
        // The access key itself is not kept (only its hash): it was in the bind answer only.
        credentials = {{"endpoint", push_endpoint_}};
    } else if (!binding.endpoint.empty()) {
        credentials = {{"endpoint", binding.endpoint}};
    }
    return {.status = 200,
            .body = json::serialize(
                json::object{{"credentials", std::move(credentials)},
                             {"parameters", parameters_value(binding.parameters)}})};
}

broker_service::reply broker_service::binding_last_operation(const http::request_context& request,
                                                             const std::string& instance_id,
                                                             const std::string& binding_id) {
    if (auto checked = check_poll_hints(request, "", ""); !checked) {
        return reply::from(checked.error());
    }
    const std::lock_guard lock(store_mutex_);
    auto existing = store_.find_binding(binding_id);
    if (!existing) {
        return store_failure("last_operation", existing.error());
    }
    if (!*existing || ((*existing)->instance_id != instance_id &&
                       (*existing)->origin != record_origin::promfetcher_import)) {
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_poll_hints(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
    }
    return {.status = 200, .body = R"({"state":"succeeded"})"};
}

void broker_service::index_binding(const binding_record& binding) {
    const service* svc = catalog_.find_service(binding.service_id);
    if (svc == nullptr) {
        log_.warn("broker binding of a service no longer in the catalog ignored",
                  {{"binding_id", binding.binding_id}, {"service_id", binding.service_id}});
        return;
    }
    if (svc->kind == service_kind::promfetcher) {
        index_.add_metrics_path(binding.binding_id, binding.app_guid, binding.seq,
                                binding.endpoint);
        return;
    }
    const plan* p = catalog_.find_plan(binding.service_id, binding.plan_id);
    if (p == nullptr || binding.key_hash.empty()) {
        // Its limits are unknown: refusing the key is safer than letting it push unlimited.
        log_.warn("broker access key of a plan no longer in the catalog not accepted",
                  {{"binding_id", binding.binding_id}, {"plan_id", binding.plan_id}});
        return;
    }
    push::push_binding entry{.binding_id = binding.binding_id,
                             .app_guid = binding.app_guid,
                             .plan_id = binding.plan_id,
                             .limits = p->limits,
                             .labels = {{"app_id", binding.app_guid}}};
    // The bind context names the org and space (OSB 2.15+); the instance's fills the gaps.
    std::optional<instance_record> instance;
    if (auto found = store_.find_instance(binding.instance_id); found && *found) {
        instance = std::move(**found);
    }
    const auto label = [&](const std::string& key, const std::string& label_name,
                           const std::string* top_level) {
        const std::string* value = context_value(binding.context, key);
        if (value == nullptr && instance) {
            value = context_value(instance->context, key);
        }
        if (value == nullptr && top_level != nullptr && !top_level->empty()) {
            value = top_level;
        }
        if (value != nullptr) {
            entry.labels[label_name] = *value;
        }
    };
    label("organization_guid", "organization_id",
          instance ? &instance->organization_guid : nullptr);
    label("space_guid", "space_id", instance ? &instance->space_guid : nullptr);
    label("organization_name", "organization_name", nullptr);
    label("space_name", "space_name", nullptr);
    index_.add_key(binding.key_hash, std::move(entry));
}

}  // namespace mgw::broker
