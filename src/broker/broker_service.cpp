// The OSB v2 endpoints. Every request is answered synchronously (no async operations, so
// last_operation only ever reports "succeeded" or 410), after the change is durable in SQLite.
#include <algorithm>
#include <cstdlib>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/broker/broker_service.hpp>
#include <mgw/text/ascii.hpp>

#include "access_key.hpp"

namespace mgw::broker {

namespace json = boost::json;

namespace {

constexpr std::size_t broker_body_limit = std::size_t{64} << 10;
constexpr std::string_view empty_object = "{}";

std::string description_json(std::string_view text) {
    return json::serialize(json::object{{"description", text}});
}

// Operation names for mgw_broker_requests_total, from the method and the path alone.
std::string_view operation_of(http::verb method, const std::optional<broker_path>& path) {
    if (!path) {
        return "unknown";
    }
    switch (path->what) {
        case broker_path::kind::catalog:
            return "catalog";
        case broker_path::kind::instance:
            switch (method) {
                case http::verb::put:
                    return "provision";
                case http::verb::patch:
                    return "update";
                case http::verb::delete_:
                    return "deprovision";
                default:
                    return "get_instance";
            }
        case broker_path::kind::binding:
            switch (method) {
                case http::verb::put:
                    return "bind";
                case http::verb::delete_:
                    return "unbind";
                default:
                    return "get_binding";
            }
        case broker_path::kind::instance_last_operation:
        case broker_path::kind::binding_last_operation:
            return "last_operation";
    }
    return "unknown";
}

// The 412's description. The header is echoed only when it is a plausible version (short,
// visible ASCII): any other bytes would make the answer invalid JSON.
std::string version_description(std::optional<std::string_view> header) {
    if (!header) {
        return "X-Broker-API-Version header required (2.x)";
    }
    const bool printable =
        header->size() <= 32 &&
        std::all_of(header->begin(), header->end(), [](char c) { return c > 0x20 && c < 0x7f; });
    return printable
               ? "X-Broker-API-Version " + std::string(*header) + " is not supported (expected 2.x)"
               : "X-Broker-API-Version is not a version (expected 2.x)";
}

// The Allow field of a 405: what the OSB API defines for this kind of path.
std::string allowed_methods(const std::optional<broker_path>& path) {
    if (!path) {
        return "GET, PUT, PATCH, DELETE";
    }
    switch (path->what) {
        case broker_path::kind::catalog:
        case broker_path::kind::instance_last_operation:
        case broker_path::kind::binding_last_operation:
            return "GET";
        case broker_path::kind::instance:
            return "GET, PUT, PATCH, DELETE";
        case broker_path::kind::binding:
            return "GET, PUT, DELETE";
    }
    return "GET";
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

}  // namespace

struct broker_service::reply {
    int status = 200;
    std::string body{empty_object};

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

    explicit metrics(prometheus::Registry& registry)
        : requests(prometheus::BuildCounter()
                       .Name("mgw_broker_requests_total")
                       .Help("Service broker requests, by OSB operation and status code.")
                       .Register(registry)),
          store_errors(prometheus::BuildCounter()
                           .Name("mgw_broker_store_errors_total")
                           .Help("Broker requests answered 500 because SQLite (or the random "
                                 "generator) failed.")
                           .Register(registry)
                           .Add({})),
          keys_issued(prometheus::BuildCounter()
                          .Name("mgw_broker_access_keys_issued_total")
                          .Help("Metrics-forwarder access keys handed out (binds and "
                                "repeated binds, which replace the previous key).")
                          .Register(registry)
                          .Add({})),
          keys_revoked(prometheus::BuildCounter()
                           .Name("mgw_broker_access_keys_revoked_total")
                           .Help("Metrics-forwarder access keys revoked by unbind, "
                                 "deprovision or replacement.")
                           .Register(registry)
                           .Add({})),
          instances(prometheus::BuildGauge()
                        .Name("mgw_broker_instances")
                        .Help("Service instances provisioned.")
                        .Register(registry)
                        .Add({})),
          bindings(prometheus::BuildGauge()
                       .Name("mgw_broker_bindings")
                       .Help("Bindings in force, by service.")
                       .Register(registry)),
          forwarder_bindings(bindings.Add({{"service", "metrics-forwarder"}})),
          promfetcher_bindings(bindings.Add({{"service", "promfetcher"}})),
          refused(prometheus::BuildCounter()
                      .Name("mgw_broker_limit_refusals_total")
                      .Help("Provisions and binds refused (422) because broker.max_instances or "
                            "broker.max_bindings was reached.")
                      .Register(registry)),
          instance_limit(refused.Add({{"limit", "max_instances"}})),
          binding_limit(refused.Add({{"limit", "max_bindings"}})),
          adopted(prometheus::BuildCounter()
                      .Name("mgw_broker_instances_adopted_total")
                      .Help("Service instances the broker had not provisioned, adopted when the "
                            "Cloud Controller bound to them (after taking over a registration).")
                      .Register(registry)
                      .Add({})) {}
};

std::string database_path(std::string_view configured, const char* state_directory) {
    if (configured == ":memory:") {
        return {};
    }
    if (!configured.empty()) {
        return std::string(configured);
    }
    if (state_directory == nullptr) {
        return {};
    }
    // systemd joins several StateDirectory= entries with ':'; the first is the unit's own.
    std::string_view directories(state_directory);
    const std::string_view first = directories.substr(0, directories.find(':'));
    if (first.empty()) {
        return {};
    }
    return std::string(first) + "/broker.db";
}

broker_service::broker_service(const broker_config& config, std::string push_endpoint,
                               core::logger& log, prometheus::Registry& registry)
    : catalog_(config),
      credentials_{config.username, config.password},
      max_instances_(config.max_instances),
      max_bindings_(config.max_bindings),
      push_endpoint_(std::move(push_endpoint)),
      log_(log),
      metrics_(std::make_unique<metrics>(registry)),
      store_(database_path(config.database, std::getenv("STATE_DIRECTORY"))) {
    auto all = store_.bindings();
    if (!all) {
        throw store_error("broker.database: cannot read bindings: " + all.error().message());
    }
    for (const binding_record& binding : *all) {
        index_binding(binding);
    }
    update_gauges();
    const std::string database = database_path(config.database, std::getenv("STATE_DIRECTORY"));
    log_.info("broker ready", {{"database", database.empty() ? ":memory:" : database},
                               {"bindings", all->size()},
                               {"access_keys", index_.key_count()},
                               {"push_endpoint", push_endpoint_}});
    if (database.empty()) {
        log_.warn(
            "broker state is in memory only: a restart forgets every instance and binding "
            "and revokes every access key (set broker.database)");
    }
}

broker_service::~broker_service() = default;

void broker_service::register_routes(http::router& router) {
    http::route_options options("/broker/v2", broker_body_limit);
    // The server refuses an announced body over the limit before any handler runs; the
    // refusal is still an OSB answer (2.13: "All response bodies MUST be a valid JSON Object").
    options.on_refused = [](const http::request_context::header_source&, http::response& refusal) {
        refusal.set("Content-Type", "application/json");
        refusal.body(osb_error{.status = 413,
                               .error = "PayloadTooLarge",
                               .description = "request body larger than " +
                                              std::to_string(broker_body_limit) + " bytes",
                               .code = errc::payload_too_large}
                         .json());
    };
    // POST and OPTIONS are no OSB operation, but their 405 must be JSON too: the broker
    // answers them itself rather than leaving them to the router's plain-text 405.
    for (http::verb method : {http::verb::get, http::verb::put, http::verb::patch,
                              http::verb::delete_, http::verb::post, http::verb::options}) {
        router.add_prefix(
            method, "/broker/v2/",
            [this](http::request_context& request, http::response& response) {
                return handle(request, response);
            },
            options);
    }
}

boost::asio::awaitable<void> broker_service::handle(http::request_context& request,
                                                    http::response& response) {
    std::string_view operation = operation_of(request.method(), parse_broker_path(request.path()));
    reply answer;
    if (!http::basic_auth_matches(request.header("Authorization").value_or(""), credentials_)) {
        response.set("WWW-Authenticate", R"(Basic realm="metrics-gateway broker")");
        answer = {.status = 401, .body = description_json("unauthorized")};
    } else {
        answer = dispatch(request, operation);
    }
    if (answer.status == 405) {
        response.set("Allow", allowed_methods(parse_broker_path(request.path())));
    }
    response.status(static_cast<http::status>(answer.status));
    response.set("Content-Type", "application/json");
    response.body(std::move(answer.body));
    metrics_->requests
        .Add({{"operation", std::string(operation)}, {"code", std::to_string(answer.status)}})
        .Increment();
    co_return;
}

broker_service::reply broker_service::dispatch(const http::request_context& request,
                                               std::string_view& operation) {
    // Promfetcher's brokerapi checked the version after authentication; so do we.
    const auto version_header = request.header("X-Broker-API-Version");
    const auto version = parse_api_version(version_header.value_or(""));
    if (!version || version->major != 2) {
        return {.status = 412,
                .body = osb_error{.status = 412,
                                  .error = "PreconditionFailed",
                                  .description = version_description(version_header),
                                  .code = errc::precondition_failed}
                            .json()};
    }
    const auto path = parse_broker_path(request.path());
    if (!path) {
        return {.status = 404, .body = description_json("no such broker endpoint")};
    }
    const identity_header identity = request.header("X-Broker-API-Originating-Identity");
    // A malformed identity is refused on every operation; those with a body compare its
    // platform with context.platform once the body is decoded.
    if (auto checked = decode_originating_identity(identity, ""); !checked) {
        return reply::from(checked.error());
    }
    const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
    // GET on instances and bindings came with OSB 2.14.
    const auto require_2_14 = [&]() -> std::optional<reply> {
        if (version->minor < 14) {
            return reply{.status = 412,
                         .body = osb_error{.status = 412,
                                           .error = "PreconditionFailed",
                                           .description = "fetching instances and bindings "
                                                          "requires X-Broker-API-Version 2.14 "
                                                          "or later",
                                           .code = errc::precondition_failed}
                                     .json()};
        }
        return std::nullopt;
    };
    const std::string_view body = request.body();
    const auto not_allowed = [&] {
        operation = "unknown";
        return reply{.status = 405, .body = description_json("method not allowed here")};
    };
    const http::verb method = request.method();
    if (method == http::verb::post || method == http::verb::options) {
        return not_allowed();
    }
    switch (path->what) {
        case broker_path::kind::catalog:
            if (!get) {
                return not_allowed();
            }
            return {.status = 200, .body = catalog_.json()};
        case broker_path::kind::instance:
            switch (method) {
                case http::verb::put:
                    return provision(path->instance_id, body, identity);
                case http::verb::patch:
                    return update(path->instance_id, body, identity);
                case http::verb::delete_:
                    return deprovision(request, path->instance_id);
                default:
                    if (auto refused = require_2_14()) {
                        return *refused;
                    }
                    return get_instance(path->instance_id);
            }
        case broker_path::kind::instance_last_operation:
            if (!get) {
                return not_allowed();
            }
            return instance_last_operation(request, path->instance_id);
        case broker_path::kind::binding:
            switch (method) {
                case http::verb::put:
                    return bind(path->instance_id, path->binding_id, body, identity);
                case http::verb::delete_:
                    return unbind(request, path->instance_id, path->binding_id);
                case http::verb::patch:
                    return not_allowed();
                default:
                    if (auto refused = require_2_14()) {
                        return *refused;
                    }
                    return get_binding(path->instance_id, path->binding_id);
            }
        case broker_path::kind::binding_last_operation:
            if (!get) {
                return not_allowed();
            }
            // Binding last_operation came with OSB 2.14 (asynchronous bindings).
            if (auto refused = require_2_14()) {
                return *refused;
            }
            return binding_last_operation(request, path->instance_id, path->binding_id);
    }
    return {.status = 404, .body = description_json("no such broker endpoint")};
}

broker_service::reply broker_service::store_failure(std::string_view what,
                                                    const boost::system::error_code& ec) {
    metrics_->store_errors.Increment();
    log_.error("broker store failed", {{"operation", what}, {"error", ec.message()}});
    return {.status = 500, .body = description_json("binding store failed: " + ec.message())};
}

broker_service::reply broker_service::limit_reached(std::string_view what, std::uint32_t limit) {
    const bool instances = what == "instances";
    (instances ? metrics_->instance_limit : metrics_->binding_limit).Increment();
    log_.warn("broker limit reached", {{"limit", instances ? "max_instances" : "max_bindings"},
                                       {"value", std::uint64_t{limit}}});
    return reply::from({.status = 422,
                        .error = instances ? "InstanceLimitReached" : "BindingLimitReached",
                        .description = "this broker holds at most " + std::to_string(limit) + " " +
                                       std::string(what) + " (broker.max_" + std::string(what) +
                                       ")"});
}

namespace {

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

}  // namespace

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
        return {.status = 409,
                .body = description_json("service instance " + instance_id +
                                         " already exists with different attributes")};
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
    if (request.service_id != instance.service_id) {
        return reply::from({.status = 400,
                            .error = "BadRequest",
                            .description = "service_id does not match the instance's"});
    }
    if (request.plan_id && *request.plan_id != instance.plan_id) {
        // plan_updateable is false in the catalog: a binding's limits come from its plan.
        return reply::from({.status = 422,
                            .error = "PlanChangeNotSupported",
                            .description = "plans cannot be changed: create a new instance "
                                           "with the other plan and bind it instead"});
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
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_delete_ids(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
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
            return {.status = 409,
                    .body = description_json("service binding " + binding_id +
                                             " already exists with different attributes")};
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
        const auto context_field = [&](const char* key) {
            const auto found = request.context.find(key);
            return found == request.context.end() ? std::string() : found->second;
        };
        const instance_record adopted{.instance_id = instance_id,
                                      .service_id = request.service_id,
                                      .plan_id = request.plan_id,
                                      .organization_guid = context_field("organization_guid"),
                                      .space_guid = context_field("space_guid"),
                                      .context = request.context,
                                      .parameters = std::string(empty_object),
                                      .origin = record_origin::adopted};
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
        return {.status = 410, .body = std::string(empty_object)};
    }
    if (auto checked = check_delete_ids(request, (*existing)->service_id, (*existing)->plan_id);
        !checked) {
        return reply::from(checked.error());
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

void broker_service::update_gauges() {
    if (auto count = store_.instance_count()) {
        metrics_->instances.Set(static_cast<double>(*count));
    }
    metrics_->forwarder_bindings.Set(static_cast<double>(index_.key_count()));
    metrics_->promfetcher_bindings.Set(static_cast<double>(index_.metrics_path_bindings()));
}

}  // namespace mgw::broker
