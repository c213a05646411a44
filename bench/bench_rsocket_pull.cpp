// Benchmark: the CPU of one /metrics/connected pull once the replies are in, in process (issue
// 17): for each of N clients the reply's decryption (RSA-OAEP unwrap of the AES key, AES-128-ECB,
// Snappy), then the merge the endpoint runs (lenient read, one series once, the merged answer
// written in 64 KiB chunks, each dropped as if sent). The replies are what
// bench/rsocket/rsocket_load_client sends: 1,000 gauge series in 50 families per client,
// encrypted as prometheus-rsocket-client does. `pull_cycle` is not inlined, so callgrind can
// count exactly its instructions (docs/BENCHMARKS.md, "Issue 17, RSocket pull CPU").
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/rsocket/crypto.hpp>

#include "connected_merge.hpp"
#include "proxy_metrics.hpp"
#include "rsocket/client_exposition.hpp"

namespace {

using namespace mgw;

struct fleet {
    rsocket::key_pair key;
    std::vector<rsocket::encrypted_reply> replies;
};

fleet make_fleet(int clients) {
    // One key for all: the private-key operation costs the same whatever the key.
    fleet f{*rsocket::key_pair::generate(2048), {}};
    for (int c = 0; c < clients; ++c) {
        f.replies.push_back(*rsocket::encrypt_like_java_client(
            f.key.public_key_der(), bench::rsocket_client_exposition(c)));
    }
    return f;
}

struct cycle_result {
    std::size_t answer_bytes = 0;
    std::size_t failures = 0;
};

// One pull's CPU: every reply opened (as connection::open_payload does), then merged as
// proxy_endpoints::serve_connected merges.
[[gnu::noinline]] cycle_result pull_cycle(const fleet& f, bool decrypt, bool merge_too,
                                          std::vector<std::string>& texts,
                                          rsocket::proxy_counters& counters, core::logger& log) {
    cycle_result result;
    if (decrypt) {
        for (std::size_t i = 0; i < f.replies.size(); ++i) {
            texts[i].clear();
            if (rsocket::decrypt_reply(f.key, f.replies[i].metadata, f.replies[i].data, 64 << 20,
                                       texts[i]) != rsocket::decrypt_error::none) {
                ++result.failures;
            }
        }
    }
    if (!merge_too) {
        return result;
    }
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    core::memory_lease lease;
    rsocket::connected_merge merge;
    if (!merge.read(views, lease, counters, log)) {
        ++result.failures;
        return result;
    }
    merge.start({.output = exposition::format::prometheus_text}, counters);
    std::string chunk;
    chunk.reserve((64 << 10) + 4096);
    bool done = false;
    while (!done) {
        chunk.clear();
        done = merge.write_some(chunk, 64 << 10);
        result.answer_bytes += chunk.size();
    }
    return result;
}

void run(benchmark::State& state, bool decrypt, bool merge_too) {
    const fleet f = make_fleet(static_cast<int>(state.range(0)));
    prometheus::Registry registry;
    rsocket::proxy_counters counters(registry);
    core::logger log(core::log_level::error);
    std::vector<std::string> texts(f.replies.size());
    if (!decrypt) {
        // The texts as decrypted once, outside the timing.
        for (std::size_t i = 0; i < f.replies.size(); ++i) {
            rsocket::decrypt_reply(f.key, f.replies[i].metadata, f.replies[i].data, 64 << 20,
                                   texts[i]);
        }
    }
    cycle_result last;
    for (auto _ : state) {
        last = pull_cycle(f, decrypt, merge_too, texts, counters, log);
        benchmark::DoNotOptimize(last);
    }
    if (last.failures != 0) {
        state.SkipWithError("a reply did not decrypt or the merge was refused");
    }
    state.counters["answer_MB"] = static_cast<double>(last.answer_bytes) / 1e6;
    state.SetItemsProcessed(state.iterations() * state.range(0) * 1000);
}

// Decryption and merge: the whole per-pull CPU path.
void bench_rsocket_pull(benchmark::State& state) {
    run(state, true, true);
}
// Decryption alone (RSA, AES, Snappy).
void bench_rsocket_pull_decrypt(benchmark::State& state) {
    run(state, true, false);
}
// The merge alone (read, dedup, write).
void bench_rsocket_pull_merge(benchmark::State& state) {
    run(state, false, true);
}

}  // namespace

BENCHMARK(bench_rsocket_pull)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(bench_rsocket_pull_decrypt)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(bench_rsocket_pull_merge)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
