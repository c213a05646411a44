// Golden output of /metrics/connected's merge (issue 17, RSocket pull CPU): deterministic
// clients -- the load client's shape, clients repeating each other's series (gauges, counters
// across formats, histograms, summaries, labels in another order or in non-canonical blocks),
// a multi-registry client repeating a family, escapes, special values, timestamps, a type
// conflict, an OpenMetrics client and one whose text does not parse -- merged as the endpoint
// merges them, in every output format. Each answer's SHA-256 was recorded from the merge before
// the pull's CPU work, which must leave the answer byte-for-byte as it was.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "../support/sha256_hex.hpp"
#include "connected_merge.hpp"
#include "proxy_metrics.hpp"

using namespace mgw;
using mgw::rsocket::connected_merge;
using mgw::rsocket::proxy_counters;

namespace {

template <typename... Args>
void put(std::string& out, const char* format, Args... args) {
    char line[512];
    const int n = std::snprintf(line, sizeof line, format, args...);
    out.append(line, static_cast<std::size_t>(n));
}

// rsocket_load_client's answer (bench/rsocket), smaller: gauges in families of 20.
std::string load_client(int client, int families) {
    std::string out;
    for (int f = 0; f < families; ++f) {
        put(out, "# HELP bench_family_%d A benchmark family.\n# TYPE bench_family_%d gauge\n", f,
            f);
        for (int i = 0; i < 20; ++i) {
            put(out, "bench_family_%d{app=\"bench-%d\",instance=\"%d\",i=\"%d\"} %d.5\n", f, client,
                client, i, i);
        }
    }
    return out;
}

// A Micrometer-like application instance; `instance` empty: no instance tag (two such clients
// expose the same series).
std::string micrometer(const char* app, const char* instance, int seed) {
    std::string out;
    const std::string tag =
        *instance == '\0' ? std::string() : std::string(",instance=\"") + instance + "\"";
    out += "# HELP http_server_requests_seconds Duration of HTTP server requests\n";
    out += "# TYPE http_server_requests_seconds histogram\n";
    for (const char* uri : {"/orders", "/orders/{id}", "/health"}) {
        const char* les[] = {"0.005", "0.05", "0.5", "5", "+Inf"};
        int cumulative = 0;
        for (const char* le : les) {
            cumulative += seed % 7 + 1;
            put(out,
                "http_server_requests_seconds_bucket{app=\"%s\"%s,method=\"GET\",uri=\"%s\","
                "le=\"%s\"} %d\n",
                app, tag.c_str(), uri, le, cumulative);
        }
        put(out, "http_server_requests_seconds_sum{app=\"%s\"%s,method=\"GET\",uri=\"%s\"} %d.25\n",
            app, tag.c_str(), uri, seed * 3);
        put(out, "http_server_requests_seconds_count{app=\"%s\"%s,method=\"GET\",uri=\"%s\"} %d\n",
            app, tag.c_str(), uri, cumulative);
    }
    out +=
        "# HELP jvm_gc_pause_seconds Time spent in GC pause\n# TYPE jvm_gc_pause_seconds summary\n";
    for (const char* q : {"0.5", "0.99"}) {
        put(out, "jvm_gc_pause_seconds{app=\"%s\"%s,quantile=\"%s\"} 0.00%d\n", app, tag.c_str(), q,
            seed % 9 + 1);
    }
    put(out,
        "jvm_gc_pause_seconds_sum{app=\"%s\"%s} %d.5\njvm_gc_pause_seconds_count{app=\"%s\"%s} "
        "%d\n",
        app, tag.c_str(), seed, app, tag.c_str(), seed + 4);
    out += "# HELP process_files_open_files The open file descriptor count\n";
    out += "# TYPE process_files_open_files gauge\n";
    put(out, "process_files_open_files{app=\"%s\"%s} %d.0\n", app, tag.c_str(), 40 + seed);
    out += "# HELP logback_events_total Number of events\n# TYPE logback_events_total counter\n";
    for (const char* level : {"error", "warn", "info"}) {
        put(out, "logback_events_total{app=\"%s\"%s,level=\"%s\"} %d.0\n", app, tag.c_str(), level,
            seed * 11);
    }
    out += "# TYPE odd_values gauge\n";
    put(out, "odd_values{app=\"%s\"%s,kind=\"nan\"} NaN\n", app, tag.c_str());
    put(out, "odd_values{app=\"%s\"%s,kind=\"inf\"} +Inf\n", app, tag.c_str());
    put(out, "odd_values{app=\"%s\"%s,kind=\"neg\"} -1e-07 1700000000%03d\n", app, tag.c_str(),
        seed);
    put(out, "odd_values{app=\"%s\"%s,kind=\"esc\\\"aped\\\\ \\nline\"} 7\n", app, tag.c_str());
    return out;
}

// The same series as micrometer("orders", "", seed), written by another library: labels in
// another order, blanks and a trailing comma, the counter and its HELP as OpenMetrics would not.
std::string reordered(int seed) {
    std::string out;
    out += "# TYPE process_files_open_files gauge\n";
    put(out, "process_files_open_files{ app = \"orders\" , } %d.0\n", 90 + seed);
    out += "# TYPE logback_events_total counter\n";
    put(out, "logback_events_total{level=\"warn\",app=\"orders\"} %d\n", seed);
    put(out, "logback_events_total{level=\"debug\",app=\"orders\"} %d\n", seed);
    out += "# TYPE http_server_requests_seconds histogram\n";
    put(out,
        "http_server_requests_seconds_bucket{uri=\"/health\",le=\"+Inf\",method=\"GET\","
        "app=\"orders\"} %d\n",
        seed);
    put(out,
        "http_server_requests_seconds_sum{uri=\"/health\",method=\"GET\",app=\"orders\"} 1\n"
        "http_server_requests_seconds_count{uri=\"/health\",method=\"GET\",app=\"orders\"} %d\n",
        seed);
    return out;
}

// Two registries in one answer (Micrometer's composite registry): families repeated.
std::string multi_registry() {
    return "# HELP queue_size Items waiting\n# TYPE queue_size gauge\n"
           "queue_size{app=\"billing\",queue=\"a\"} 1\n"
           "# HELP jobs_total Jobs done\n# TYPE jobs_total counter\n"
           "jobs_total{app=\"billing\"} 5\n"
           "# HELP queue_size Items waiting\n# TYPE queue_size gauge\n"
           "queue_size{app=\"billing\",queue=\"b\"} 2\n"
           "queue_size{app=\"billing\",queue=\"a\"} 3\n"
           "# TYPE untyped_thing untyped\nuntyped_thing 4\n";
}

// An OpenMetrics client: its counter is the 0.0.4 clients' `logback_events_total`.
std::string openmetrics_client() {
    return "# TYPE logback_events counter\n# HELP logback_events Number of events\n"
           "logback_events_total{app=\"orders\",level=\"error\"} 99\n"
           "logback_events_created{app=\"orders\",level=\"error\"} 1600000000\n"
           "logback_events_total{app=\"mail\",level=\"error\"} 3\n"
           "# TYPE temperature_celsius gauge\n# UNIT temperature_celsius celsius\n"
           "temperature_celsius{room=\"a\"} 21.5\n"
           "# EOF\n";
}

// `process_files_open_files` as a counter: a type conflict with the gauges above.
std::string conflicting() {
    return "# TYPE process_files_open_files counter\n"
           "process_files_open_files{app=\"conflict\"} 1\n"
           "# TYPE bench_family_3 gauge\nbench_family_3{app=\"bench-0\",instance=\"0\",i=\"5\"} "
           "-5\n";
}

std::vector<std::string> clients() {
    std::vector<std::string> texts;
    for (int c = 0; c < 12; ++c) {
        texts.push_back(load_client(c % 10, 6));  // clients 10 and 11 repeat 0 and 1
    }
    texts.push_back(micrometer("orders", "", 1));
    texts.push_back(micrometer("orders", "", 2));  // the same series: all dropped
    texts.push_back(micrometer("orders", "i-1", 3));
    texts.push_back(reordered(4));
    texts.push_back(multi_registry());
    texts.push_back("this is {not an exposition\n");
    texts.push_back(openmetrics_client());
    texts.push_back(conflicting());
    texts.push_back(micrometer("payments", "p-0", 5));
    texts.push_back("");
    return texts;
}

struct golden {
    exposition::format output;
    bool utf8_names;
    std::size_t bytes;
    std::string_view sha256;
};

// Recorded from the merge before the pull's CPU work (the endpoint's code moved unchanged into
// connected_merge, commit "rsocket: /metrics/connected's merge apart from its I/O").
constexpr std::array<golden, 4> goldens{{
    {exposition::format::prometheus_text, true, 74425,
     "4080dec6d5cf161d2d4634541c234eede05e95171b6c7c25378e3e393521593e"},
    {exposition::format::prometheus_text, false, 74425,
     "4080dec6d5cf161d2d4634541c234eede05e95171b6c7c25378e3e393521593e"},
    {exposition::format::openmetrics, true, 74445,
     "920e7ae219ab5e7b9f1570d17f556c0a08145ebae8f71a5a089ba8551885f125"},
    {exposition::format::openmetrics, false, 74445,
     "920e7ae219ab5e7b9f1570d17f556c0a08145ebae8f71a5a089ba8551885f125"},
}};

struct merged {
    std::string answer;
    double parse_errors;
    double duplicates;
    double conflicts;
};

merged merge_clients(const std::vector<std::string>& texts, const golden& g,
                     std::size_t soft_limit) {
    prometheus::Registry registry;
    proxy_counters counters(registry);
    core::logger log(core::log_level::error);
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    core::memory_lease lease;
    connected_merge merge;
    REQUIRE(merge.read(views, lease, counters, log));
    merge.start({.output = g.output, .utf8_names = g.utf8_names}, counters);
    merged out{{}, counters.parse_errors.Value(), counters.duplicate_series.Value(), 0};
    while (!merge.write_some(out.answer, soft_limit)) {
    }
    out.conflicts = counters.type_conflicts.Value();
    return out;
}

}  // namespace

TEST_CASE(
    "connected merge golden: the merged answer of a varied set of clients is byte-for-byte the "
    "recorded one in every output format") {
    const std::vector<std::string> texts = clients();
    for (const golden& g : goldens) {
        INFO("output " << (g.output == exposition::format::openmetrics ? "openmetrics" : "0.0.4")
                       << ", utf8_names " << g.utf8_names);
        const merged m = merge_clients(texts, g, 64 << 10);
        CHECK(m.answer.size() == g.bytes);
        CHECK(mgw::test::sha256_hex(m.answer) == std::string(g.sha256));
        CHECK(m.parse_errors == 1);
        // Dropped: clients 10 and 11 repeat 240 series, the second instance-less "orders"
        // client its 12, "reordered" 3 of them, the conflicting client 1, and the OpenMetrics
        // client's "orders" counter 2 (its _total and _created samples are counted apart).
        // `process_files_open_files` is also a counter: one type conflict.
        CHECK(m.duplicates == 258);
        CHECK(m.conflicts == 1);
        // The answer is streamed in chunks; where they end changes nothing.
        CHECK(merge_clients(texts, g, 997).answer == m.answer);
    }
}
