// Benchmark: the duplicate-series filter of /metrics/connected (rsocket/series_dedup) over the
// load client's shape: N clients x 1,000 gauge series in 50 families, 3 labels each. `distinct`
// is the usual case (every client's series differ by their labels); `duplicated` has every
// client expose the same series (all but the first are dropped). Parsing (raw label blocks, as
// /metrics/connected parses) is outside the timing.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <mgw/exposition/parser.hpp>

#include "rsocket/client_exposition.hpp"
#include "series_dedup.hpp"

namespace {

using namespace mgw;

void run(benchmark::State& state, bool duplicated) {
    const auto clients = static_cast<int>(state.range(0));
    std::vector<std::string> texts;
    for (int c = 0; c < clients; ++c) {
        texts.push_back(bench::rsocket_client_exposition(duplicated ? 0 : c));
    }
    std::vector<exposition::parsed_exposition> parsed(texts.size());
    std::vector<exposition::parsed_exposition> work(texts.size());
    std::size_t samples = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        exposition::parse(texts[i], exposition::format::prometheus_text, parsed[i], {},
                          exposition::label_storage::raw_when_canonical);
        samples += parsed[i].samples.size();
    }
    rsocket::series_dedup dedup;
    std::size_t dropped = 0;
    for (auto _ : state) {
        state.PauseTiming();
        work = parsed;  // the filter removes samples: each run starts from the parsed answers
        dedup.clear();
        state.ResumeTiming();
        dedup.reserve(samples);
        for (auto& e : work) {
            dropped += dedup.add(e);
        }
    }
    benchmark::DoNotOptimize(dropped);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * samples));
    state.counters["table_MiB"] = static_cast<double>(dedup.table_bytes()) / (1 << 20);
}

void distinct(benchmark::State& state) {
    run(state, false);
}
void duplicated(benchmark::State& state) {
    run(state, true);
}

}  // namespace

BENCHMARK(distinct)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(duplicated)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
