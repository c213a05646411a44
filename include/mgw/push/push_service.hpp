// Push module: `POST /v1/metrics` (the Metrics Forwarder API: access key, rate limits, decode,
// store) and the app source that puts pushed series into the app's merged exposition.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/core/log.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/http/response.hpp>
#include <mgw/http/router.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/push/push_request.hpp>
#include <mgw/push/push_store.hpp>
#include <mgw/push/rate_limiter.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::push {

// Where the service reads the time; tests pin it to step over TTLs and rate windows.
struct push_clocks {
    std::function<push_store::clock::time_point()> steady = [] { return push_store::clock::now(); };
    std::function<rate_limiter::clock::time_point()> wall = [] {
        return rate_limiter::clock::now();
    };
};

// Told about every accepted push, after it was stored, on the request's thread before the 202
// is written (so it must not block): the Loggregator emitter forwards pushes to the Firehose.
// `wall_ms` is the time stamped on metrics sent without one.
using accepted_push_listener = std::function<void(
    const push_binding& binding, const push_request& request, std::int64_t wall_ms)>;

struct push_service_options {
    std::size_t max_body_bytes = std::size_t{1} << 20;  // beyond: 413 before the body is read
    decode_limits decode;
    push_store_options store;
    // Expired series and finished rate windows are dropped by the first push after this long.
    std::chrono::milliseconds sweep_interval{std::chrono::seconds(30)};
    // The rate limits' window (push.rate_window): 60 s as the Metrics Forwarder had it.
    std::chrono::seconds rate_window{mgw::push::rate_window};
    push_clocks clocks;
};

class push_service final : public apps::app_source, public apps::app_directory {
  public:
    // `bindings` is the service broker's directory of access keys; it outlives the service.
    push_service(const binding_directory& bindings, push_service_options options, core::logger& log,
                 prometheus::Registry& registry);
    ~push_service() override;
    push_service(const push_service&) = delete;
    push_service& operator=(const push_service&) = delete;

    // POST /v1/metrics, with push.max_body_bytes as the route's body limit.
    void register_routes(http::router& router);

    boost::asio::awaitable<void> handle(http::request_context& request, http::response& response);

    // The app's pushed series, one exposition per instance index, labelled with the CF labels
    // (route tags when the route table knows the app, else the binding's), `index` and
    // `instance_id` (the pushed index, as Promfetcher labels scraped instances) and
    // `source="push"`.
    boost::asio::awaitable<void> collect(const apps::app_query& app,
                                         std::chrono::steady_clock::time_point deadline,
                                         std::vector<apps::contributed_exposition>& out) override;

    const push_store& store() const { return store_; }
    // For the status console: what each binding used of the current rate window.
    std::vector<window_use> rate_use() const {
        return limiter_.current_use(options_.clocks.wall());
    }

    // What the cluster's other nodes counted against each binding's window (nullptr: local
    // counting). Before the service handles requests; `usage` must outlive it.
    void set_peer_usage(const peer_usage* usage) { limiter_.set_peer_usage(usage); }

    // Service discovery: the apps with live pushed series, with their bindings' CF labels.
    std::string_view directory_name() const override { return "push"; }
    void list_apps(std::vector<apps::known_app>& out) const override;

    // Before the service handles requests.
    void on_accepted(accepted_push_listener listener) { accepted_ = std::move(listener); }

  private:
    struct metrics;

    void maybe_sweep(push_store::clock::time_point now, rate_limiter::clock::time_point wall);
    // The X-RateLimit-* status of the key in `authorization`, counting nothing (413 answers).
    rate_status current_status(std::string_view authorization) const;

    const binding_directory& bindings_;
    push_service_options options_;
    core::logger& log_;
    std::unique_ptr<metrics> metrics_;
    push_store store_;
    rate_limiter limiter_;
    std::atomic<std::int64_t> next_sweep_{0};  // steady clock ticks
    accepted_push_listener accepted_;
};

// The access key of an Authorization field: the raw key, as the Java metric writer and
// Steeltoe send it, or `Bearer <key>`; surrounding whitespace ignored. Empty when none.
std::string_view access_key_of(std::string_view authorization);

}  // namespace mgw::push
