// The broker's costs on the paths that matter: the access-key lookup every push makes
// (SHA-256 of the key, then a shared-locked hash-map probe), alone and from two threads, and
// the durable bind (one SQLite insert, WAL with synchronous=FULL, so one fsync) on a real file.
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <mgw/broker/binding_index.hpp>
#include <mgw/broker/binding_store.hpp>

#include "broker/access_key.hpp"

namespace {

struct keyed_index {
    mgw::broker::binding_index index;
    std::vector<std::string> keys;

    explicit keyed_index(std::size_t n) {
        keys.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back(*mgw::broker::generate_access_key());
            index.add_key(mgw::broker::hash_access_key(keys.back()),
                          {.binding_id = "binding-" + std::to_string(i),
                           .app_guid = "app-" + std::to_string(i),
                           .plan_id = "plan",
                           .limits = {},
                           .labels = {{"organization_name", "org"}, {"space_name", "space"}}});
        }
    }
};

keyed_index& index_of(std::size_t n) {
    static keyed_index small(1'000);
    static keyed_index large(100'000);
    return n == 1'000 ? small : large;
}

void BM_find_by_access_key(benchmark::State& state) {
    keyed_index& k = index_of(static_cast<std::size_t>(state.range(0)));
    std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
    for (auto _ : state) {
        auto found = k.index.find_by_access_key(k.keys[i++ % k.keys.size()]);
        benchmark::DoNotOptimize(found);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_find_by_access_key)->Arg(1'000)->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();

void BM_find_unknown_key(benchmark::State& state) {
    keyed_index& k = index_of(100'000);
    const std::string unknown = *mgw::broker::generate_access_key();
    for (auto _ : state) {
        auto found = k.index.find_by_access_key(unknown);
        benchmark::DoNotOptimize(found);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_find_unknown_key);

// One bind as the broker stores it: an INSERT committed with an fsync. The directory is
// MGW_BENCH_DIR when set (to measure a particular disk), else the system temp directory.
void BM_durable_bind(benchmark::State& state) {
    const char* dir = std::getenv("MGW_BENCH_DIR");
    const std::filesystem::path base =
        dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
    const std::filesystem::path file = base / "mgw-bench-broker.db";
    std::filesystem::remove(file);
    std::filesystem::remove(file.string() + "-wal");
    {
        mgw::broker::binding_store store(file.string());
        if (store.insert_instance({.instance_id = "instance",
                                   .service_id = "svc",
                                   .plan_id = "plan",
                                   .organization_guid = "org",
                                   .space_guid = "space",
                                   .context = {},
                                   .parameters = "{}"})) {
            state.SkipWithError("cannot insert the instance");
            return;
        }
        std::int64_t n = 0;
        for (auto _ : state) {
            const std::string key = *mgw::broker::generate_access_key();
            mgw::broker::binding_record binding{.binding_id = "binding-" + std::to_string(n++),
                                                .instance_id = "instance",
                                                .service_id = "svc",
                                                .plan_id = "plan",
                                                .app_guid = "app",
                                                .context = {{"space_name", "space"}},
                                                .parameters = "{}",
                                                .endpoint = "",
                                                .key_hash = mgw::broker::hash_access_key(key),
                                                .seq = 0};
            if (store.insert_binding(binding)) {
                state.SkipWithError("insert failed");
                break;
            }
        }
        state.SetItemsProcessed(state.iterations());
    }
    std::filesystem::remove(file);
    std::filesystem::remove(file.string() + "-wal");
}
BENCHMARK(BM_durable_bind)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
