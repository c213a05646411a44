// Parser throughput on Prometheus' own benchmark fixtures (bytes/s comparable with the numbers
// in docs/BENCHMARKS.md), strict (parse) and as the gateway reads sources (read_lenient), plus
// the heap allocations of a steady-state parse, counted by replacing the global operator new
// in this executable.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>

#include <benchmark/benchmark.h>

#include "mgw/exposition/parser.hpp"

namespace {

std::atomic<std::size_t> allocation_count{0};

std::string read_fixture(const char* name) {
    const auto path = std::filesystem::path(MGW_CORPUS_DIR) / "prometheus-textparse" / name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::abort();
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// How a body is read: parse() as `check` does, or read_lenient() as the gateway reads sources.
enum class reading { strict, lenient };

void run_parse(
    benchmark::State& state, const std::string& body, mgw::exposition::format fmt,
    mgw::exposition::label_storage storage = mgw::exposition::label_storage::materialized,
    reading how = reading::strict) {
    mgw::exposition::parsed_exposition out;
    mgw::exposition::leniency_report report;
    const auto read = [&] {
        return how == reading::strict
                   ? mgw::exposition::parse(body, fmt, out, {}, storage)
                   : mgw::exposition::read_lenient(body, fmt, out, report, {}, storage);
    };
    // Warm-up: the first parse sizes the vectors and the per-thread scratch sets.
    if (const mgw::exposition::parse_result first = read(); !first) {
        state.SkipWithError(first.error().message().c_str());
        return;
    }
    const std::size_t before = allocation_count.load(std::memory_order_relaxed);
    std::size_t parses = 0;
    for (auto _ : state) {
        const bool ok = read().has_value();
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.samples.data());
        ++parses;
    }
    const std::size_t allocations = allocation_count.load(std::memory_order_relaxed) - before;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * out.samples.size()));
    state.counters["samples"] = static_cast<double>(out.samples.size());
    state.counters["allocs_per_parse"] =
        parses == 0 ? 0.0 : static_cast<double>(allocations) / static_cast<double>(parses);
}

using mgw::exposition::format;
using mgw::exposition::label_storage;

void bm_parse_prometheus_237mfs(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.prom.txt"), format::prometheus_text);
}

void bm_parse_prometheus_237mfs_nometa(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.nometa.prom.txt"), format::prometheus_text);
}

// The app merge path's storage: canonical label blocks kept raw.
void bm_parse_prometheus_237mfs_raw_labels(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.prom.txt"), format::prometheus_text,
              label_storage::raw_when_canonical);
}

void bm_parse_openmetrics_1histogram(benchmark::State& state) {
    run_parse(state, read_fixture("1histogram.om.txt"), format::openmetrics);
}

// The same bodies read as the gateway reads its sources (read_lenient): the repairs' checks of
// every family, on inputs that need no repair.
void bm_lenient_prometheus_237mfs(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.prom.txt"), format::prometheus_text,
              label_storage::materialized, reading::lenient);
}

void bm_lenient_prometheus_237mfs_nometa(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.nometa.prom.txt"), format::prometheus_text,
              label_storage::materialized, reading::lenient);
}

void bm_lenient_prometheus_237mfs_raw_labels(benchmark::State& state) {
    run_parse(state, read_fixture("alltypes.237mfs.prom.txt"), format::prometheus_text,
              label_storage::raw_when_canonical, reading::lenient);
}

void bm_lenient_openmetrics_1histogram(benchmark::State& state) {
    run_parse(state, read_fixture("1histogram.om.txt"), format::openmetrics,
              label_storage::materialized, reading::lenient);
}

// A body that needs joining: the 237 families served twice, the second time with another
// label on every sample (two registries of one app, as Micrometer's multi-registry clients
// concatenate them).
void bm_lenient_prometheus_237mfs_twice(benchmark::State& state) {
    const std::string once = read_fixture("alltypes.237mfs.prom.txt");
    std::string twice = once + "\n";
    for (std::size_t at = 0; at < once.size();) {
        std::size_t end = once.find('\n', at);
        end = end == std::string::npos ? once.size() : end + 1;
        std::string line = once.substr(at, end - at);
        if (!line.empty() && line[0] != '#') {
            const std::size_t brace = line.find('{');
            const std::size_t space = line.find(' ');
            if (brace != std::string::npos && brace < space) {
                line.insert(brace + 1, "registry=\"2\",");
            } else {
                line.insert(space, "{registry=\"2\"}");
            }
        }
        twice += line;
        at = end;
    }
    run_parse(state, twice, format::prometheus_text, label_storage::raw_when_canonical,
              reading::lenient);
}

}  // namespace

BENCHMARK(bm_parse_prometheus_237mfs);
BENCHMARK(bm_parse_prometheus_237mfs_nometa);
BENCHMARK(bm_parse_prometheus_237mfs_raw_labels);
BENCHMARK(bm_parse_openmetrics_1histogram);
BENCHMARK(bm_lenient_prometheus_237mfs);
BENCHMARK(bm_lenient_prometheus_237mfs_nometa);
BENCHMARK(bm_lenient_prometheus_237mfs_raw_labels);
BENCHMARK(bm_lenient_openmetrics_1histogram);
BENCHMARK(bm_lenient_prometheus_237mfs_twice);

// Counting replacements of the global allocation functions (all forms route here). GCC sees
// the replaced delete inlined as free() on memory from new and warns; here that is the intent.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size))
        return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return ::operator new(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

BENCHMARK_MAIN();
