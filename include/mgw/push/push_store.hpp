// Push module: the latest pushed value per (app, instance index, name, tags), kept in memory
// for a TTL after its last push and handed to scrapes per instance as the exposition model the
// merger takes. Pure (the caller passes the time) and thread-safe: pushes and scrapes of
// different apps never contend.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <mgw/exposition/model.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/push/push_request.hpp>

namespace mgw::push {

struct push_store_options {
    std::chrono::milliseconds ttl{std::chrono::minutes(5)};
    std::size_t max_series_per_app = 10000;
};

enum class store_rejection { type_conflict, series_limit };

struct store_error {
    store_rejection reason = store_rejection::type_conflict;
    decode_error detail;  // names the first metric at fault, as a 422 reports it
};

// One instance's live series as the parsed model a merge takes, built directly from the store
// (no text rendered and read again): what reading the 0.0.4 text `# TYPE <name> <type>` and
// `<name>{<tags>} <value>` per family and series would give, each sample without CF labels.
// The model's views point into `text`, which holds the names, label blocks and values.
struct pushed_instance_series {
    std::string index;  // the instance index, decimal
    std::shared_ptr<const std::string> text;
    exposition::parsed_exposition series;
};

// What a scrape of one app sees: the labels of the binding that pushed last, and the series of
// each instance index (ascending).
struct pushed_app {
    std::map<std::string, std::string> binding_labels;
    std::vector<pushed_instance_series> instances;
};

class push_store {
  public:
    using clock = std::chrono::steady_clock;

    explicit push_store(push_store_options options = {});
    ~push_store();
    push_store(const push_store&) = delete;
    push_store& operator=(const push_store&) = delete;

    // Stores every metric of `request`, or none when one of them would give a name a second
    // type (0.0.4 `a` gauge vs `a` counter, and the OpenMetrics clash of gauge `a_total` with
    // counter `a`) or the app more than max_series_per_app series. Counters are stored as
    // sent. A push replaces what earlier pushes stored, whatever the timestamps (the caller
    // refuses timestamps far from its clock); within one request, the value with the latest
    // timestamp (the last one on ties) is kept for a series sent several times. Every push
    // renews its series' TTL. `wall_ms`: the time stamped on metrics sent without one. Every
    // application of `request` is stored under `binding.app_guid` (the caller checked they are the
    // same).
    std::optional<store_error> apply(const push_binding& binding, const push_request& request,
                                     clock::time_point now, std::int64_t wall_ms);

    // The app's live series (app GUID in any form text::is_uuid accepts, other identifiers
    // case-insensitively); nullopt when it has none.
    std::optional<pushed_app> collect(std::string_view app_guid, clock::time_point now) const;

    // Every app with a series pushed within the TTL: its GUID as stored (canonical when a UUID)
    // and the labels of the binding that pushed last. For service discovery.
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> live_apps(
        clock::time_point now) const;

    // Drops series not pushed for a TTL, and apps left without series. Returns how many series.
    std::size_t sweep(clock::time_point now);

    std::size_t series_count() const { return series_count_.load(std::memory_order_relaxed); }
    std::size_t app_count() const;
    const push_store_options& options() const { return options_; }

  private:
    struct app_entry;

    push_store_options options_;
    mutable std::shared_mutex apps_mutex_;  // guards the map; each app has its own mutex
    std::unordered_map<std::string, std::unique_ptr<app_entry>> apps_;
    std::atomic<std::size_t> series_count_{0};
};

}  // namespace mgw::push
