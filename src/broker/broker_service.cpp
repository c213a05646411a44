// Broker module: the HTTP shell of the OSB v2 endpoints (basic auth, API version, dispatch to
// the operations in instance_operations.cpp and binding_operations.cpp, the counters). Every
// request is answered synchronously (no async operations, so last_operation only ever reports
// "succeeded" or 410), after the change is durable in SQLite.
#include <algorithm>
#include <cstdlib>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/broker/broker_service.hpp>

#include "operation_support.hpp"

namespace mgw::broker {

namespace {

constexpr std::size_t broker_body_limit = std::size_t{64} << 10;

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

}  // namespace

broker_service::metrics::metrics(prometheus::Registry& registry)
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
        if (answer.then) {
            const auto rest = std::move(answer.then);
            answer = co_await rest();
        }
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

void broker_service::update_gauges() {
    if (auto count = store_.instance_count()) {
        metrics_->instances.Set(static_cast<double>(*count));
    }
    metrics_->forwarder_bindings.Set(static_cast<double>(index_.key_count()));
    metrics_->promfetcher_bindings.Set(static_cast<double>(index_.metrics_path_bindings()));
}

}  // namespace mgw::broker