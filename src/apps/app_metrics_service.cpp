// The merged app endpoint's I/O shell: plan (pure) → fan out to instances and sources → decide
// (pure) → merge → stream, with Promfetcher's status codes and the per-instance synthetic series.
#include <algorithm>
#include <exception>
#include <iterator>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <mgw/apps/app_metrics_service.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/http/memory_refusal.hpp>

#include "answer_counters.hpp"
#include "answer_decision.hpp"
#include "fetch_plan.hpp"
#include "held_contributions.hpp"
#include "instance_bodies.hpp"
#include "scrape_report.hpp"

namespace mgw::apps {

namespace {

using namespace boost::asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;

void plain_text(http::response& response, int status, std::string body) {
    response.status(static_cast<http::status>(status));
    response.set("Content-Type", "text/plain; charset=utf-8");
    response.body(std::move(body));
}

// Which source a merger index names, for logs: an instance's address, a pushed or connected
// source, or the gateway's own per-instance report (add_merge_sources' order).
std::string_view describe_source(std::size_t source, const answer_decision& decision,
                                 const routes::endpoint_list& endpoints) {
    if (source < decision.instances.size()) {
        return endpoints[decision.instances[source]]->address;
    }
    return source < decision.instances.size() + decision.contributions.size() ? "app source"
                                                                              : "scrape report";
}

// Promfetcher's label sets: the app's six, plus index and instance_id for failures.
prometheus::Labels promfetch_labels(const routes::endpoint& endpoint, bool with_instance) {
    prometheus::Labels labels;
    for (std::string_view name : cf_label_names) {
        if (name == "index" || name == "instance_id") {
            if (with_instance) {
                labels.emplace(name, endpoint.tag("instance_id"));
            }
        } else if (name != "instance") {
            labels.emplace(name, endpoint.tag(name));
        }
    }
    return labels;
}

// The instances that could not be fetched, at debug (every scrape repeats them).
void log_failed_fetches(core::logger& log, const routes::endpoint_list& endpoints,
                        std::span<const scrape::scrape_result> results) {
    for (std::size_t i = 0; i < results.size() && i < endpoints.size(); ++i) {
        if (!results[i].ok()) {
            log.debug("instance scrape failed", {{"instance", endpoints[i]->address},
                                                 {"app_id", endpoints[i]->tag("app_id")},
                                                 {"error", scrape::to_string(results[i].error)},
                                                 {"reason", results[i].reason}});
        }
    }
}

// Promfetcher's fetch counters of a merged (200) answer.
void count_fetches(answer_counters& counters, const routes::endpoint_list& endpoints,
                   std::span<const instance_outcome> outcomes) {
    for (std::size_t i = 0; i < outcomes.size() && i < endpoints.size(); ++i) {
        if (outcomes[i].up) {
            counters.fetch_success.Add(promfetch_labels(*endpoints[i], false)).Increment();
        } else {
            counters.fetch_failed.Add(promfetch_labels(*endpoints[i], true)).Increment();
        }
    }
}

// What the status console shows of this answer: the instances' outcomes, the sources merged.
app_scrape_record scrape_record(const std::string& shown, const std::string& app_guid,
                                const routes::endpoint* first,
                                std::span<const instance_outcome> outcomes,
                                std::size_t contributions, clock::duration fan_out, int status) {
    app_scrape_record record;
    record.key = app_guid.empty() ? shown : app_guid;
    record.identifier = shown;
    record.app_guid = app_guid;
    record.at = clock::now();
    record.contributions = contributions;
    record.duration = fan_out;
    record.status = status;
    if (first != nullptr) {
        record.org = first->tag("organization_name");
        record.space = first->tag("space_name");
        record.app = first->tag("app_name");
    }
    for (const instance_outcome& outcome : outcomes) {
        if (outcome.up) {
            ++record.instances_up;
        } else {
            ++record.instances_down;
            ++record.errors[std::string(outcome.reason.empty() ? "unknown" : outcome.reason)];
        }
    }
    return record;
}

}  // namespace

app_metrics_options app_metrics_options::from(const scrape::scrape_config& scrape) {
    app_metrics_options options;
    options.scrape_timeout = scrape.timeout;
    options.forward_headers = scrape.forward_headers;
    options.max_body_bytes = scrape.max_body_bytes;
    options.collisions = scrape.label_collisions;
    return options;
}

app_metrics_service::app_metrics_service(const routes::route_table& table, scrape::scraper& scraper,
                                         app_metrics_options options, core::logger& log,
                                         prometheus::Registry& registry)
    : table_(table),
      scraper_(scraper),
      options_(std::move(options)),
      log_(log),
      metrics_(std::make_unique<answer_counters>(registry)) {}

app_metrics_service::app_metrics_service(const routes::route_table& table, scrape::scraper& scraper,
                                         app_metrics_options options, core::logger& log,
                                         prometheus::Registry& registry,
                                         core::memory_budget& memory)
    : app_metrics_service(table, scraper, std::move(options), log, registry) {
    memory_ = &memory;
}

app_metrics_service::~app_metrics_service() = default;

void app_metrics_service::add_source(app_source& source) {
    sources_.push_back(&source);
}

void app_metrics_service::set_metric_path_lookup(metric_path_lookup lookup) {
    metric_path_lookup_ = std::move(lookup);
}

boost::asio::awaitable<std::vector<contributed_exposition>> app_metrics_service::collect_sources(
    const app_query& app, clock::time_point deadline, bool only_app_metrics) {
    // Only the app's own series for /only-app-metrics: no source that adds series about it.
    std::vector<app_source*> asked;
    for (app_source* source : sources_) {
        if (!only_app_metrics || source->origin() == series_origin::app) {
            asked.push_back(source);
        }
    }
    std::vector<contributed_exposition> contributed;
    if (asked.empty()) {
        co_return contributed;
    }
    // All at once, each within the deadline: a slow RSocket pull must not leave the external
    // exporters no time, nor the other way round.
    std::vector<std::vector<contributed_exposition>> outputs(asked.size());
    const auto executor = co_await boost::asio::this_coro::executor;
    auto spawn = [&](std::size_t i) {
        return boost::asio::co_spawn(executor, asked[i]->collect(app, deadline, outputs[i]),
                                     boost::asio::deferred);
    };
    std::vector<decltype(spawn(0))> operations;
    operations.reserve(asked.size());
    for (std::size_t i = 0; i < asked.size(); ++i) {
        operations.push_back(spawn(i));
    }
    auto [order, exceptions] =
        co_await boost::asio::experimental::make_parallel_group(std::move(operations))
            .async_wait(boost::asio::experimental::wait_for_all(), boost::asio::use_awaitable);
    for (std::size_t i = 0; i < asked.size(); ++i) {
        // A source is another module's code: one that fails must not take the app's answer
        // (the scraped instances, the other sources) down with it.
        if (exceptions[i]) {
            metrics_->source_errors.Increment();
            try {
                std::rethrow_exception(exceptions[i]);
            } catch (const std::exception& error) {
                log_.error("app source failed", {{"app", app.identifier}, {"error", error.what()}});
            } catch (...) {
                log_.error("app source failed", {{"app", app.identifier}});
            }
            continue;
        }
        std::move(outputs[i].begin(), outputs[i].end(), std::back_inserter(contributed));
    }
    co_return contributed;
}

void app_metrics_service::register_routes(http::router& router) {
    for (const char* prefix : {"/v1/apps/", "/v2/apps/"}) {
        router.add_prefix(
            http::verb::get, prefix,
            [this](http::request_context& request, http::response& response) {
                return handle(request, response);
            },
            http::route_options(std::string(prefix)));
    }
}

boost::asio::awaitable<void> app_metrics_service::handle(http::request_context& request,
                                                         http::response& response) {
    // 1. The fetch plan: pure (fetch_plan.hpp).
    auto planned =
        plan_fetch(request, *table_.snapshot(), options_, metric_path_lookup_, clock::now());
    if (!planned) {
        const app_request_error error = planned.error();
        plain_text(response, error.status, error.body);
        co_return;
    }
    const fetch_plan& plan = *planned;
    if (plan.endpoints.empty() && sources_.empty()) {
        plain_text(response, 404, not_found_body(plan.shown));
        co_return;
    }
    // The answer's two chunk buffers (one written, one produced) and the gzip form are leased
    // before anything is fetched, so a merge that could not be written does not start.
    core::memory_lease answer_lease;
    if (memory_ != nullptr) {
        auto lease = memory_->try_lease(core::memory_use::http_answer,
                                        http::stream_held_bytes(options_.chunk_bytes) +
                                            options_.chunk_bytes + http::stream_chunk_slack);
        if (!lease) {
            http::answer_memory_refusal(response, "the merged answer");
            co_return;
        }
        answer_lease = std::move(*lease);
    }

    // 2. The fan-out: the only I/O before the answer. Each body is read on its instance's
    // strand as soon as it arrives (instance_bodies.hpp); the sources contribute meanwhile.
    instance_bodies bodies(plan.endpoints, plan.labels, *metrics_, log_);
    const scrape::scrape_request_options scrape_options{.deadline = plan.deadline,
                                                        .headers = plan.headers,
                                                        .accept = plan.accept,
                                                        .max_body_bytes = options_.max_body_bytes,
                                                        .accept_gzip = true,
                                                        .memory = memory_};
    const clock::time_point fan_out_start = clock::now();
    auto [results, contributed] =
        co_await (scraper_.scrape_all(plan.targets, scrape_options,
                                      [&bodies](std::size_t i, scrape::scrape_result& result) {
                                          bodies.take(i, result);
                                      }) &&
                  collect_sources(plan.query(), plan.deadline, plan.app.only_app_metrics));
    const clock::duration fan_out = clock::now() - fan_out_start;
    // The sources' contributions are held as long as the instances' bodies
    // (held_contributions.hpp), unless the ceiling already refused this merge.
    held_contributions held;
    if (!bodies.memory_refused()) {
        held = hold_contributions(contributed, memory_, *metrics_, log_, plan.shown);
        if (held.memory_refused) {
            bodies.refuse_memory();
        }
    }

    // 3. The answer decision: pure (answer_decision.hpp).
    settle_outcomes(results, bodies.outcomes());
    const answer_decision decision = decide_answer({.shown = plan.shown,
                                                    .metric_path = plan.metric_path,
                                                    .first = plan.first(),
                                                    .results = results,
                                                    .outcomes = bodies.outcomes(),
                                                    .contributions = held.prepared,
                                                    .memory_refused = bodies.memory_refused()});
    switch (decision.kind) {
        case answer_kind::memory_refused:
            // Everything this merge held goes back now; the client may retry once others are done.
            log_.debug("merge refused by the memory ceiling", {{"app", plan.shown}});
            http::answer_memory_refusal(response, "the instance bodies of this merge");
            co_return;
        case answer_kind::not_found:
            plain_text(response, 404, decision.body);
            co_return;
        case answer_kind::not_acceptable:
        case answer_kind::merge:
            break;
    }
    log_failed_fetches(log_, plan.endpoints, results);
    // The status console's record is taken where the status is known.
    history_.record(scrape_record(plan.shown, plan.app_guid, plan.first(), bodies.outcomes(),
                                  decision.contributions.size(), fan_out, decision.status));
    if (decision.kind == answer_kind::not_acceptable) {
        plain_text(response, decision.status, decision.body);
        co_return;
    }
    count_fetches(*metrics_, plan.endpoints, bodies.outcomes());

    // 4. The merge and the stream. Promfetcher's error series stay in /only-app-metrics (it
    // keeps them there too); the gateway's own mgw_scrape_* series are not the app's.
    scrape_report report;
    report.build(bodies.outcomes(),
                 plan.app.only_app_metrics ? report_series::promfetcher : report_series::all);
    exposition::merger merger({.collisions = options_.collisions});
    add_merge_sources(merger, decision, bodies.expositions(), plan.labels, held.prepared, report);

    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    merger.start({.output = negotiated.output, .utf8_names = negotiated.utf8_names});
    for (const exposition::type_conflict& conflict : merger.conflicts()) {
        metrics_->type_conflicts.Increment();
        // Every scrape repeats a conflict: the counter shows it, the log only at debug.
        log_.debug(
            "family type conflict",
            {{"family", conflict.family},
             {"instance", describe_source(conflict.source, decision, plan.endpoints)},
             {"expected",
              exposition::type_keyword(conflict.expected, exposition::format::openmetrics)},
             {"found", exposition::type_keyword(conflict.found, exposition::format::openmetrics)}});
    }

    response.status(http::status::ok);
    response.set("Content-Type", negotiated.content_type);
    co_await http::stream_body(
        response, options_.chunk_bytes,
        [&](std::string& chunk, std::size_t max) { return merger.write_some(chunk, max); });
}

}  // namespace mgw::apps
