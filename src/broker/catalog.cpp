// The catalog from configuration, rendered once as the OSB v2 catalog document.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <mgw/broker/catalog.hpp>

namespace mgw::broker {

namespace json = boost::json;

namespace {

json::object plan_json(const service& s, const plan& p) {
    json::object metadata{{"displayName", p.name}};
    if (s.kind == service_kind::metrics_forwarder) {
        // Shown by `cf marketplace -e`; apps learn their limits from the response headers too.
        json::array bullets;
        const auto limit = [](const std::optional<std::uint32_t>& value, std::string_view what) {
            return value ? std::to_string(*value) + " " + std::string(what) + " per minute"
                         : "unlimited " + std::string(what);
        };
        bullets.emplace_back(limit(p.limits.requests_per_minute, "requests"));
        bullets.emplace_back(limit(p.limits.metrics_per_minute, "metrics"));
        metadata["bullets"] = std::move(bullets);
    }
    return {{"id", p.id},   {"name", p.name},   {"description", p.description},
            {"free", true}, {"bindable", true}, {"metadata", std::move(metadata)}};
}

json::object service_json(const service& s) {
    json::array plans;
    for (const plan& p : s.plans) {
        plans.emplace_back(plan_json(s, p));
    }
    const bool promfetcher = s.kind == service_kind::promfetcher;
    json::object metadata{
        {"displayName", s.name},
        {"longDescription", promfetcher
                                ? "Fetch your prometheus metrics on each instance of your app."
                                : "Push custom metrics from your app (Metrics Forwarder API); "
                                  "they are served with the app's scraped metrics."},
        {"providerDisplayName", "metrics-gateway"}};
    return {{"id", s.id},
            {"name", s.name},
            {"description", s.description},
            {"bindable", true},
            {"instances_retrievable", true},
            {"bindings_retrievable", true},
            {"plan_updateable", false},
            {"tags", promfetcher ? json::array{"prometheus", "metrics"}
                                 : json::array{"metrics-forwarder", "metrics"}},
            {"requires", json::array{}},
            {"metadata", std::move(metadata)},
            {"plans", std::move(plans)}};
}

}  // namespace

catalog::catalog(const broker_config& config) {
    services_.push_back(
        {.kind = service_kind::promfetcher,
         .id = config.promfetcher.service_id,
         .name = "promfetcher",
         .description = "Fetch your prometheus metrics on each instance of your app",
         .plans = {{.id = config.promfetcher.plan_id,
                    .name = "fetch-app",
                    .description = "Fetch your prometheus metrics on each instance of your app "
                                   "by setting an endpoint to scrap",
                    .limits = {}}}});
    service forwarder{.kind = service_kind::metrics_forwarder,
                      .id = config.metrics_forwarder.service_id,
                      .name = "metrics-forwarder",
                      .description = "Custom metrics service",
                      .plans = {}};
    for (const broker_plan_config& p : config.metrics_forwarder.plans) {
        forwarder.plans.push_back({.id = p.id,
                                   .name = p.name,
                                   .description = p.description,
                                   .limits = {.requests_per_minute = p.requests_per_minute,
                                              .metrics_per_minute = p.metrics_per_minute}});
    }
    services_.push_back(std::move(forwarder));

    json::array services;
    for (const service& s : services_) {
        services.emplace_back(service_json(s));
    }
    json_ = json::serialize(json::object{{"services", std::move(services)}});
}

const service* catalog::find_service(std::string_view service_id) const {
    for (const service& s : services_) {
        if (s.id == service_id) {
            return &s;
        }
    }
    return nullptr;
}

const plan* catalog::find_plan(std::string_view service_id, std::string_view plan_id) const {
    const service* s = find_service(service_id);
    if (s == nullptr) {
        return nullptr;
    }
    for (const plan& p : s->plans) {
        if (p.id == plan_id) {
            return &p;
        }
    }
    return nullptr;
}

}  // namespace mgw::broker
