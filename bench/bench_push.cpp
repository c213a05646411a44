// Push ingest benchmark: the work POST /v1/metrics does per request, without the HTTP server:
// decode a 100-metric Metrics Forwarder body, count it against a limited plan (requests and
// metrics per minute), store it; and the scrape side, rendering a pushed app. Items are
// metrics, so items_per_second is metrics per second on one core.
#include <chrono>
#include <string>

#include <benchmark/benchmark.h>

#include <mgw/push/push_request.hpp>
#include <mgw/push/push_store.hpp>
#include <mgw/push/rate_limiter.hpp>

#include "push_body.hpp"

namespace {

using namespace mgw::push;

const push_binding bench_binding{
    .binding_id = "bench-binding",
    .app_guid = "a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d",
    .plan_id = "limited",
    .limits = {.requests_per_minute = 4'000'000'000u, .metrics_per_minute = 4'000'000'000u},
    .labels = {{"organization_name", "org"}, {"space_name", "dev"}}};

void BM_decode(benchmark::State& state) {
    const std::string body =
        forwarder_body(static_cast<std::size_t>(state.range(0)), bench_binding.app_guid, 0);
    for (auto _ : state) {
        auto result = decode_push_request(body);
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_decode)->Arg(100);

// decode + both limits + store: one POST /v1/metrics minus HTTP, steady state (the series
// exist, as they do from an app's second push on).
void BM_decode_limit_store(benchmark::State& state) {
    const std::string body =
        forwarder_body(static_cast<std::size_t>(state.range(0)), bench_binding.app_guid, 0);
    push_store store;
    rate_limiter limiter;
    const auto wall = rate_limiter::clock::now();
    const auto now = push_store::clock::now();
    for (auto _ : state) {
        auto decoded = decode_push_request(body);
        const push_request& request = *decoded;
        auto admitted = limiter.admit_request(bench_binding.binding_id, bench_binding.limits, wall);
        auto counted = limiter.admit_metrics(bench_binding.binding_id, bench_binding.limits,
                                             request.metric_count, wall);
        auto refused = store.apply(bench_binding, request, now, 1'700'000'000'000);
        benchmark::DoNotOptimize(admitted);
        benchmark::DoNotOptimize(counted);
        benchmark::DoNotOptimize(refused);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["series"] = static_cast<double>(store.series_count());
}
BENCHMARK(BM_decode_limit_store)->Arg(100);

// A scrape of an app with 10 instances x 100 pushed series.
void BM_collect(benchmark::State& state) {
    push_store store;
    const auto now = push_store::clock::now();
    for (int instance = 0; instance < 10; ++instance) {
        auto decoded = decode_push_request(forwarder_body(100, bench_binding.app_guid, instance));
        store.apply(bench_binding, *decoded, now, 1'700'000'000'000);
    }
    for (auto _ : state) {
        auto pushed = store.collect(bench_binding.app_guid, now);
        benchmark::DoNotOptimize(pushed);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_collect);

}  // namespace

BENCHMARK_MAIN();
