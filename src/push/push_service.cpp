// The order of the checks follows what a client can act on: who it is (401), whether it may
// send now (429, before the body costs anything), what it sent (422), for whom (403), how much
// (429), and whether it fits with what the app pushed before (422). Every answer carries the
// X-RateLimit-* fields, the server's own 413 (before the body is read) through on_refused.
#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/push/push_service.hpp>
#include <mgw/text/ascii.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::push {

namespace {

constexpr std::string_view json_type = "application/json";

std::string error_body(std::string_view message) {
    std::string out = "{\"error\":\"";
    append_json_escaped(out, message);
    out += "\"}";
    return out;
}

void set_rate_fields(http::response& response, const rate_status& status) {
    for (const auto& [name, value] : rate_limit_fields(status)) {
        response.set(name, value);
    }
}

void answer(http::response& response, http::status code, const rate_status& status,
            std::string body) {
    response.status(code);
    set_rate_fields(response, status);
    if (body.empty()) {
        response.set("Content-Type", "text/plain; charset=utf-8");
    } else {
        response.set("Content-Type", json_type);
    }
    response.body(std::move(body));
}

}  // namespace

std::string_view access_key_of(std::string_view authorization) {
    std::string_view key = text::trim_whitespace(authorization);
    if (text::istarts_with(key, "Bearer ")) {
        key = text::trim_whitespace(key.substr(7));
    }
    return key;
}

struct push_service::metrics {
    prometheus::Family<prometheus::Counter>& responses;
    prometheus::Counter& accepted_202;
    prometheus::Family<prometheus::Counter>& rejected;
    prometheus::Counter& missing_key;
    prometheus::Counter& unknown_key;
    prometheus::Counter& request_rate;
    prometheus::Counter& invalid_payload;
    prometheus::Counter& wrong_app;
    prometheus::Counter& metric_rate;
    prometheus::Counter& type_conflict;
    prometheus::Counter& series_limit;
    prometheus::Counter& metrics_accepted;
    prometheus::Counter& series_expired;
    prometheus::Gauge& series;
    prometheus::Gauge& apps;

    explicit metrics(prometheus::Registry& registry)
        : responses(prometheus::BuildCounter()
                        .Name("mgw_push_requests_total")
                        .Help("POST /v1/metrics requests answered by the push handler, by status "
                              "code (413 is answered by the HTTP server: "
                              "mgw_http_rejected_total).")
                        .Register(registry)),
          accepted_202(responses.Add({{"code", "202"}})),
          rejected(prometheus::BuildCounter()
                       .Name("mgw_push_rejected_total")
                       .Help("Pushes refused, by reason.")
                       .Register(registry)),
          missing_key(rejected.Add({{"reason", "missing_key"}})),
          unknown_key(rejected.Add({{"reason", "unknown_key"}})),
          request_rate(rejected.Add({{"reason", "request_rate"}})),
          invalid_payload(rejected.Add({{"reason", "invalid_payload"}})),
          wrong_app(rejected.Add({{"reason", "wrong_app"}})),
          metric_rate(rejected.Add({{"reason", "metric_rate"}})),
          type_conflict(rejected.Add({{"reason", "type_conflict"}})),
          series_limit(rejected.Add({{"reason", "series_limit"}})),
          metrics_accepted(prometheus::BuildCounter()
                               .Name("mgw_push_metrics_accepted_total")
                               .Help("Metrics stored from accepted pushes.")
                               .Register(registry)
                               .Add({})),
          series_expired(prometheus::BuildCounter()
                             .Name("mgw_push_series_expired_total")
                             .Help("Pushed series dropped after push.ttl without a push.")
                             .Register(registry)
                             .Add({})),
          series(prometheus::BuildGauge()
                     .Name("mgw_push_series")
                     .Help("Pushed series held in memory.")
                     .Register(registry)
                     .Add({})),
          apps(prometheus::BuildGauge()
                   .Name("mgw_push_apps")
                   .Help("Apps with pushed series held in memory.")
                   .Register(registry)
                   .Add({})) {}

    void answered(http::status code) {
        if (code == http::status::accepted) {
            accepted_202.Increment();
        } else {
            responses.Add({{"code", std::to_string(static_cast<unsigned>(code))}}).Increment();
        }
    }
};

push_service::push_service(const binding_directory& bindings, push_service_options options,
                           core::logger& log, prometheus::Registry& registry)
    : bindings_(bindings),
      options_(std::move(options)),
      log_(log),
      metrics_(std::make_unique<metrics>(registry)),
      store_(options_.store),
      limiter_(options_.rate_window) {}

push_service::~push_service() = default;

void push_service::register_routes(http::router& router) {
    http::route_options route("/v1/metrics", options_.max_body_bytes);
    route.on_refused = [this](const http::request_context::header_source& headers,
                              http::response& refusal) {
        set_rate_fields(refusal, current_status(headers.find("Authorization").value_or("")));
    };
    router.add(
        http::verb::post, "/v1/metrics",
        [this](http::request_context& request, http::response& response) {
            return handle(request, response);
        },
        std::move(route));
}

rate_status push_service::current_status(std::string_view authorization) const {
    const std::string_view key = access_key_of(authorization);
    const std::optional<push_binding> binding =
        key.empty() ? std::nullopt : bindings_.find_by_access_key(key);
    if (!binding) {
        return no_quota_status();
    }
    return limiter_.peek(binding->binding_id, binding->limits, options_.clocks.wall());
}

void push_service::maybe_sweep(push_store::clock::time_point now,
                               rate_limiter::clock::time_point wall) {
    std::int64_t due = next_sweep_.load(std::memory_order_relaxed);
    const std::int64_t ticks = now.time_since_epoch().count();
    if (ticks < due) {
        return;
    }
    const std::int64_t next =
        ticks +
        std::chrono::duration_cast<push_store::clock::duration>(options_.sweep_interval).count();
    // One thread wins the sweep; the others carry on with their push.
    if (!next_sweep_.compare_exchange_strong(due, next, std::memory_order_relaxed)) {
        return;
    }
    const std::size_t expired = store_.sweep(now);
    limiter_.sweep(wall);
    metrics_->series_expired.Increment(static_cast<double>(expired));
    metrics_->series.Set(static_cast<double>(store_.series_count()));
    metrics_->apps.Set(static_cast<double>(store_.app_count()));
}

boost::asio::awaitable<void> push_service::handle(http::request_context& request,
                                                  http::response& response) {
    const auto now = options_.clocks.steady();
    const auto wall = options_.clocks.wall();
    maybe_sweep(now, wall);
    const auto reply = [&](http::status code, const rate_status& status, std::string body) {
        // Refusals are counted; the details go to the debug log only, since a misconfigured
        // client repeats the same mistake every minute.
        if (code != http::status::accepted && log_.enabled(core::log_level::debug)) {
            log_.debug("push refused", {{"status", static_cast<unsigned>(code)},
                                        {"remote", request.remote().address().to_string()},
                                        {"error", body}});
        }
        answer(response, code, status, std::move(body));
        metrics_->answered(code);
    };

    const std::string_view key = access_key_of(request.header("Authorization").value_or(""));
    if (key.empty()) {
        metrics_->missing_key.Increment();
        reply(http::status::unauthorized, no_quota_status(),
              error_body("Authorization: the binding's access_key is required"));
        co_return;
    }
    const std::optional<push_binding> binding = bindings_.find_by_access_key(key);
    if (!binding) {
        metrics_->unknown_key.Increment();
        reply(http::status::unauthorized, no_quota_status(),
              error_body("Authorization: unknown or revoked access key"));
        co_return;
    }

    const rate_decision admitted =
        limiter_.admit_request(binding->binding_id, binding->limits, wall);
    if (admitted.verdict != rate_verdict::allowed) {
        metrics_->request_rate.Increment();
        reply(http::status::too_many_requests, admitted.status,
              error_body("rate limit: " + std::to_string(*binding->limits.requests_per_minute) +
                         " requests per minute; retry in " +
                         std::to_string(admitted.status.retry_after_seconds) + " s"));
        co_return;
    }

    // Timestamps are always held to a window around the wall clock (its spans configurable).
    decode_limits limits = options_.decode;
    limits.timestamps = limits.timestamps.value_or(timestamp_window{});
    limits.timestamps->now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
    auto decoded = decode_push_request(request.body(), limits);
    if (decoded.has_error()) {
        metrics_->invalid_payload.Increment();
        reply(http::status::unprocessable_entity, admitted.status, decoded.error().to_json());
        co_return;
    }
    const push_request& body = *decoded;

    for (std::size_t i = 0; i < body.applications.size(); ++i) {
        if (!text::same_uuid(body.applications[i].id, binding->app_guid)) {
            metrics_->wrong_app.Increment();
            reply(http::status::forbidden, admitted.status,
                  error_body("applications[" + std::to_string(i) +
                             "].id: this access key may push only for app " + binding->app_guid));
            co_return;
        }
    }

    const rate_decision counted =
        limiter_.admit_metrics(binding->binding_id, binding->limits, body.metric_count, wall);
    if (counted.verdict != rate_verdict::allowed) {
        metrics_->metric_rate.Increment();
        reply(
            http::status::too_many_requests, counted.status,
            error_body("rate limit: " + std::to_string(*binding->limits.metrics_per_minute) +
                       " metrics per minute, " + std::to_string(counted.status.metrics_remaining) +
                       " left and this request has " + std::to_string(body.metric_count) +
                       "; retry in " + std::to_string(counted.status.retry_after_seconds) + " s"));
        co_return;
    }

    const std::int64_t wall_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
    if (auto refused = store_.apply(*binding, body, now, wall_ms)) {
        (refused->reason == store_rejection::type_conflict ? metrics_->type_conflict
                                                           : metrics_->series_limit)
            .Increment();
        reply(http::status::unprocessable_entity, counted.status, refused->detail.to_json());
        co_return;
    }
    metrics_->metrics_accepted.Increment(static_cast<double>(body.metric_count));
    metrics_->series.Set(static_cast<double>(store_.series_count()));
    if (accepted_) {
        accepted_(*binding, body, wall_ms);
    }
    reply(http::status::accepted, counted.status, {});
}

boost::asio::awaitable<void> push_service::collect(
    const apps::app_query& app, std::chrono::steady_clock::time_point /*deadline*/,
    std::vector<apps::contributed_exposition>& out) {
    // In memory: done long before any deadline.
    const std::string_view guid = app.app_guid.empty() ? app.identifier : app.app_guid;
    std::optional<pushed_app> pushed = store_.collect(guid, options_.clocks.steady());
    if (!pushed) {
        co_return;
    }
    // The six app-level CF labels, from the route table when it knows the app.
    std::vector<std::pair<std::string, std::string>> app_labels;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::string name(apps::cf_label_names[i]);
        std::string value;
        if (app.tags != nullptr) {
            if (auto it = app.tags->find(name); it != app.tags->end()) {
                value = it->second;
            }
        } else if (auto it = pushed->binding_labels.find(name);
                   it != pushed->binding_labels.end()) {
            value = it->second;
        }
        if (name == "app_id" && value.empty()) {
            value = std::string(guid);
        }
        app_labels.emplace_back(name, std::move(value));
    }
    // Handed over as the store built them: parsed already, nothing to read again.
    for (pushed_instance_series& instance : pushed->instances) {
        apps::contributed_exposition& exposition = out.emplace_back();
        exposition.storage_bytes = instance.text->capacity();
        exposition.storage = std::move(instance.text);
        exposition.parsed = std::move(instance.series);
        exposition.labels = app_labels;
        exposition.labels.emplace_back("index", instance.index);
        exposition.labels.emplace_back("instance_id", std::move(instance.index));
        exposition.labels.emplace_back("source", "push");
    }
}

void push_service::list_apps(std::vector<apps::known_app>& out) const {
    for (auto& [guid, labels] : store_.live_apps(options_.clocks.steady())) {
        out.push_back({.app_guid = std::move(guid), .labels = std::move(labels)});
    }
}

}  // namespace mgw::push
