// Merge benchmark: parse + relabel (9 Cloud Foundry labels) + write of 1,000 app instances x
// ~1,000 series each, the scrape-merge hot path, with heap allocations counted per sample.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/sample_lines.hpp>

// Counts every global allocation so the benchmark can report allocations per sample. The
// replacements pair malloc with free, which g++ cannot see through once they are inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::uint64_t> allocation_count{0};
}  // namespace

void* operator new(std::size_t size) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return operator new(size);
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

namespace {

using namespace mgw::exposition;

constexpr std::size_t instance_count = 1000;

struct lcg {
    std::uint64_t state;
    std::uint32_t next() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33);
    }
};

// A Micrometer/Spring-like body: ~1,000 sample lines of counters, gauges and histograms with
// 2-4 labels each.
std::string make_body(std::uint64_t seed) {
    lcg rng{seed};
    std::string body;
    char line[256];
    static constexpr std::array methods{"GET", "POST", "PUT", "DELETE"};
    static constexpr std::array statuses{"200", "201", "204", "400", "404", "500"};
    body += "# HELP http_client_requests_total Total outgoing HTTP requests.\n";
    body += "# TYPE http_client_requests_total counter\n";
    for (int i = 0; i < 240; ++i) {
        std::snprintf(line, sizeof line,
                      "http_client_requests_total{method=\"%s\",status=\"%s\",uri=\"/api/v%d/"
                      "r%d\"} %u\n",
                      methods[i % 4], statuses[i % 6], i % 3 + 1, i, rng.next() % 100000);
        body += line;
    }
    body += "# HELP jvm_memory_used_bytes The amount of used memory\n";
    body += "# TYPE jvm_memory_used_bytes gauge\n";
    for (int i = 0; i < 200; ++i) {
        std::snprintf(line, sizeof line,
                      "jvm_memory_used_bytes{area=\"%s\",id=\"G1 Pool %d\"} %u.%03u\n",
                      i % 2 ? "heap" : "nonheap", i, rng.next() % 100000000, rng.next() % 1000);
        body += line;
    }
    body += "# HELP cache_gets_total Cache gets\n# TYPE cache_gets_total counter\n";
    for (int i = 0; i < 140; ++i) {
        std::snprintf(line, sizeof line,
                      "cache_gets_total{cache=\"cache-%d\",name=\"c%d\",result=\"%s\"} %u\n", i / 2,
                      i, i % 2 ? "hit" : "miss", rng.next() % 1000000);
        body += line;
    }
    static constexpr std::array bounds{"0.005", "0.01", "0.025", "0.05", "0.1",  "0.25",
                                       "0.5",   "1.0",  "2.5",   "5.0",  "10.0", "+Inf"};
    body += "# HELP http_server_requests_seconds Duration of HTTP server request handling\n";
    body += "# TYPE http_server_requests_seconds histogram\n";
    for (int i = 0; i < 30; ++i) {
        std::uint32_t cumulative = 0;
        for (const char* le : bounds) {
            cumulative += rng.next() % 50;
            std::snprintf(line, sizeof line,
                          "http_server_requests_seconds_bucket{method=\"%s\",uri=\"/p%d\","
                          "le=\"%s\"} %u\n",
                          methods[i % 4], i, le, cumulative);
            body += line;
        }
        std::snprintf(line, sizeof line,
                      "http_server_requests_seconds_sum{method=\"%s\",uri=\"/p%d\"} %u.%u\n",
                      methods[i % 4], i, cumulative / 3, rng.next() % 1000);
        body += line;
        std::snprintf(line, sizeof line,
                      "http_server_requests_seconds_count{method=\"%s\",uri=\"/p%d\"} %u\n",
                      methods[i % 4], i, cumulative);
        body += line;
    }
    return body;
}

struct fleet {
    std::vector<std::string> bodies;
    std::vector<std::string> label_values;  // owns the injected values
    std::vector<std::array<label, 9>> injected;
    std::size_t input_bytes = 0;

    fleet() {
        bodies.reserve(instance_count);
        label_values.reserve(instance_count * 9);
        injected.resize(instance_count);
        for (std::size_t i = 0; i < instance_count; ++i) {
            bodies.push_back(make_body(i + 1));
            input_bytes += bodies.back().size();
            static constexpr std::array names{"organization_id",   "space_id",   "app_id",
                                              "organization_name", "space_name", "app_name",
                                              "instance_id",       "index",      "instance"};
            char value[64];
            const std::array<std::string, 9> values{
                "8a2d1c7e-5b0f-4d3a-9e61-0c4b7f2a9d10",
                "3f6e9b21-7c4d-4a8e-b5f2-1d0e8c7a6b54",
                "c1b2a3d4-e5f6-4789-8abc-def012345678",
                "platform-org",
                "production",
                "orders-service",
                std::to_string(i),
                std::to_string(i),
                (std::snprintf(value, sizeof value, "10.0.%zu.%zu:61%03zu", i / 250, i % 250,
                               i % 1000),
                 std::string(value))};
            for (std::size_t l = 0; l < 9; ++l) {
                label_values.push_back(values[l]);
                injected[i][l].name = names[l];
                injected[i][l].value = label_values.back();
            }
        }
    }
};

const fleet& the_fleet() {
    static const fleet f;
    return f;
}

struct pipeline {
    std::vector<parsed_exposition> parsed{instance_count};
    parsed_exposition scratch;
    merger merge;
    std::string chunk;
    std::size_t samples = 0;
    std::size_t output_bytes = 0;

    pipeline() { chunk.reserve(128 << 10); }

    // One scrape-merge cycle: parse every body, merge with injected labels, stream the output
    // in ~64 KiB chunks (each chunk is handed to the socket and the buffer reused). Not inlined,
    // so that callgrind can count exactly the cycles (--toggle-collect, docs/BENCHMARKS.md).
    // With `as_lines`, each body is read leniently into a scratch model and its canonical
    // families held as lines, as the app endpoint holds instances (sample_lines.hpp).
    [[gnu::noinline]] void run(const fleet& f, format output, label_storage storage,
                               bool parse_bodies, bool lenient = false, bool as_lines = false) {
        merge.clear();
        samples = 0;
        output_bytes = 0;
        for (std::size_t i = 0; i < instance_count; ++i) {
            if (as_lines) {
                leniency_report report;
                if (!read_lenient(f.bodies[i], format::prometheus_text, scratch, report, {},
                                  storage)) {
                    std::abort();
                }
                samples += scratch.samples.size();
                if (!report.empty() || copy_as_sample_lines(scratch, f.bodies[i], parsed[i]) == 0) {
                    parsed[i] = scratch;
                }
                merge.add_source(parsed[i], f.injected[i]);
                continue;
            }
            if (parse_bodies) {
                leniency_report report;
                const parse_result read =
                    lenient ? read_lenient(f.bodies[i], format::prometheus_text, parsed[i], report,
                                           {}, storage)
                            : parse(f.bodies[i], format::prometheus_text, parsed[i], {}, storage);
                if (!read) {
                    std::fprintf(stderr, "bench body %zu invalid: %s\n", i,
                                 read.error().message().c_str());
                    std::abort();
                }
            }
            samples += parsed[i].samples.size();
            merge.add_source(parsed[i], f.injected[i]);
        }
        merge.start(writer_options{output, false});
        bool done = false;
        while (!done) {
            chunk.clear();
            done = merge.write_some(chunk, 64 << 10);
            output_bytes += chunk.size();
            benchmark::DoNotOptimize(chunk.data());
        }
    }
};

void report(benchmark::State& state, const fleet& f, const pipeline& p, std::uint64_t allocations,
            bool counts_input) {
    const auto iterations = static_cast<double>(state.iterations());
    if (counts_input) {
        state.SetBytesProcessed(static_cast<std::int64_t>(f.input_bytes * state.iterations()));
    }
    state.counters["input_MB"] = static_cast<double>(f.input_bytes) / 1e6;
    state.counters["output_MB"] = static_cast<double>(p.output_bytes) / 1e6;
    state.counters["samples"] = static_cast<double>(p.samples);
    state.counters["samples_per_s"] = benchmark::Counter(
        static_cast<double>(p.samples) * iterations, benchmark::Counter::kIsRate);
    state.counters["allocs_per_sample"] =
        static_cast<double>(allocations) / (static_cast<double>(p.samples) * iterations);
}

// Parse + relabel + write, the whole hot path; throughput is counted in input bytes.
void bench_parse_merge_write(benchmark::State& state) {
    const fleet& f = the_fleet();
    const auto output = static_cast<format>(state.range(0));
    const auto storage = static_cast<label_storage>(state.range(1));
    pipeline p;
    p.run(f, output, storage, true);  // warm-up: vectors reach their steady-state capacity
    const std::uint64_t before = allocation_count.load();
    for (auto _ : state) {
        p.run(f, output, storage, true);
    }
    report(state, f, p, allocation_count.load() - before, true);
}

// The same, bodies read as the app endpoint reads instances (read_lenient).
void bench_lenient_merge_write(benchmark::State& state) {
    const fleet& f = the_fleet();
    const auto output = static_cast<format>(state.range(0));
    const auto storage = static_cast<label_storage>(state.range(1));
    pipeline p;
    p.run(f, output, storage, true, true);
    const std::uint64_t before = allocation_count.load();
    for (auto _ : state) {
        p.run(f, output, storage, true, true);
    }
    report(state, f, p, allocation_count.load() - before, true);
}

// The same, with the canonical families held as lines, as the app endpoint holds instances.
void bench_lines_merge_write(benchmark::State& state) {
    const fleet& f = the_fleet();
    const auto output = static_cast<format>(state.range(0));
    const auto storage = static_cast<label_storage>(state.range(1));
    pipeline p;
    p.run(f, output, storage, true, true, true);
    const std::uint64_t before = allocation_count.load();
    for (auto _ : state) {
        p.run(f, output, storage, true, true, true);
    }
    report(state, f, p, allocation_count.load() - before, true);
}

// Relabel + write only, over bodies parsed once: the merger's share of the cost.
void bench_merge_write(benchmark::State& state) {
    const fleet& f = the_fleet();
    const auto output = static_cast<format>(state.range(0));
    const auto storage = static_cast<label_storage>(state.range(1));
    pipeline p;
    p.run(f, output, storage, true);
    const std::uint64_t before = allocation_count.load();
    for (auto _ : state) {
        p.run(f, output, storage, false);
    }
    report(state, f, p, allocation_count.load() - before, true);
}

BENCHMARK(bench_parse_merge_write)
    ->ArgsProduct({{static_cast<int>(format::prometheus_text),
                    static_cast<int>(format::openmetrics)},
                   {static_cast<int>(label_storage::materialized),
                    static_cast<int>(label_storage::raw_when_canonical)}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bench_lenient_merge_write)
    ->ArgsProduct({{static_cast<int>(format::prometheus_text),
                    static_cast<int>(format::openmetrics)},
                   {static_cast<int>(label_storage::materialized),
                    static_cast<int>(label_storage::raw_when_canonical)}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bench_lines_merge_write)
    ->ArgsProduct({{static_cast<int>(format::prometheus_text),
                    static_cast<int>(format::openmetrics)},
                   {static_cast<int>(label_storage::raw_when_canonical)}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bench_merge_write)
    ->ArgsProduct({{static_cast<int>(format::prometheus_text),
                    static_cast<int>(format::openmetrics)},
                   {static_cast<int>(label_storage::materialized),
                    static_cast<int>(label_storage::raw_when_canonical)}})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
