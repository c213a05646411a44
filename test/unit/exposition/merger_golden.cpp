// Golden output of the merge (issue 17): a deterministic fleet-like app -- instances with the
// fleet simulator's series shapes plus summaries, OpenMetrics and UTF-8-named instances, pushed
// and connected contributions, the per-instance report -- read as the gateway reads sources and
// merged in every output format. Each answer's SHA-256 was recorded from the code before issue
// 17's CPU work, which must leave the merged answer byte-for-byte as it was: one changed byte
// anywhere in any format fails here.
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/sample_lines.hpp>

#include "../support/sha256_hex.hpp"

using namespace mgw::exposition;

namespace {

constexpr std::size_t instance_count = 50;

struct lcg {
    std::uint64_t state;
    std::uint32_t below(std::uint32_t bound) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33) % bound;
    }
};

template <typename... Args>
void put(std::string& out, const char* format, Args... args) {
    char line[512];
    const int n = std::snprintf(line, sizeof line, format, args...);
    out.append(line, static_cast<std::size_t>(n));
}

constexpr std::array methods{"GET", "POST", "PUT", "DELETE"};
constexpr std::array uris{"/orders", "/orders/{id}", "/payments", "/health", "/cart"};
constexpr std::array statuses{"200", "201", "404", "500"};
constexpr std::array buckets{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                             "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
constexpr std::array quantiles{"0.5", "0.9", "0.99"};

// A Prometheus text instance: about 200 series over histogram, counters, gauges (some values
// with escapes, some with timestamps), a summary, an untyped family; label blocks mostly
// canonical, some not (spaces, trailing comma), and own labels named like injected ones.
std::string text_instance(std::size_t i) {
    lcg rng{i * 7919 + 17};
    std::string out;
    // Instances before the fifth have no HELP for the histogram: the first HELP wins.
    if (i >= 4) {
        put(out, "# HELP http_server_requests_seconds Duration of HTTP server requests (%zu).\n",
            i % 3);
    }
    out += "# TYPE http_server_requests_seconds histogram\n";
    for (std::size_t k = 0; k < 6; ++k) {
        std::uint32_t cumulative = rng.below(100);
        for (const char* le : buckets) {
            cumulative += rng.below(2000);
            put(out, "http_server_requests_seconds_bucket{method=\"%s\",uri=\"%s\",le=\"%s\"} %u\n",
                methods[k % 4], uris[k % 5], le, cumulative);
        }
        put(out, "http_server_requests_seconds_sum{method=\"%s\",uri=\"%s\"} %u.%03u\n",
            methods[k % 4], uris[k % 5], cumulative / 7, rng.below(1000));
        put(out, "http_server_requests_seconds_count{method=\"%s\",uri=\"%s\"} %u\n",
            methods[k % 4], uris[k % 5], cumulative);
    }
    out += "# HELP http_requests_total HTTP server requests.\n# TYPE http_requests_total counter\n";
    for (std::size_t k = 0; k < 40; ++k) {
        if (k % 9 == 4) {
            // Not canonical: spaces after the commas, a trailing comma.
            put(out, "http_requests_total{method=\"%s\", uri=\"%s\", status=\"%s\",} %u\n",
                methods[k % 4], uris[k / 4 % 5], statuses[k / 20 % 4], rng.below(5000000));
        } else {
            put(out, "http_requests_total{method=\"%s\",uri=\"%s\",status=\"%s\"} %u\n",
                methods[k % 4], uris[k / 4 % 5], statuses[(k / 20 + i) % 4], rng.below(5000000));
        }
    }
    out += "# HELP db_queries_total Database queries.\n# TYPE db_queries_total counter\n";
    for (std::size_t k = 0; k < 24; ++k) {
        if (k % 8 == 3) {
            // Own labels named like injected ones: renamed exported_... or dropped.
            put(out,
                "db_queries_total{db=\"main\",instance=\"db-%zu\",app_id=\"legacy\","
                "operation=\"select\"} %u\n",
                k, rng.below(900000));
        } else if (k % 8 == 5) {
            put(out, "db_queries_total{exported_instance=\"x\",instance=\"db-%zu\"} %u\n", k,
                rng.below(900000));
        } else {
            put(out,
                "db_queries_total{db=\"main\",operation=\"%s\",table=\"t%zu\",shard=\"%zu\"} %u\n",
                k % 2 ? "insert" : "select", k % 6, k / 6, rng.below(900000));
        }
    }
    // Instance 17 exposes this family with another TYPE: a conflict, left out.
    if (i == 17) {
        out += "# TYPE jvm_memory_used_bytes counter\njvm_memory_used_bytes{area=\"heap\"} 3\n";
    } else {
        out +=
            "# HELP jvm_memory_used_bytes The amount of used memory.\n"
            "# TYPE jvm_memory_used_bytes gauge\n";
        for (std::size_t k = 0; k < 16; ++k) {
            switch (k % 4) {
                case 0:
                    put(out,
                        "jvm_memory_used_bytes{area=\"heap\",id=\"G1 Eden Space\",pool=\"p%zu\"} "
                        "%u.%02u\n",
                        k, rng.below(500000000), rng.below(100));
                    break;
                case 1:
                    put(out,
                        "jvm_memory_used_bytes{area=\"nonheap\",id=\"G1 \\\"Old\\\" "
                        "Gen\",pool=\"p%zu\"} %ue+%02u\n",
                        k, rng.below(9) + 1, rng.below(12));
                    break;
                case 2:
                    put(out,
                        "jvm_memory_used_bytes{area=\"nonheap\",id=\"C:\\\\tmp\\nline\",pool=\"p%"
                        "zu\"} %s\n",
                        k, k % 8 == 2 ? "NaN" : "+Inf");
                    break;
                default:
                    put(out,
                        "jvm_memory_used_bytes{area=\"heap\",id=\"Metaspace\",pool=\"p%zu\"} -%u\n",
                        k, rng.below(1000));
            }
        }
    }
    out += "# TYPE app_queue_messages_ready gauge\n";
    for (std::size_t k = 0; k < 12; ++k) {
        if (k % 3 == 0) {
            put(out, "app_queue_messages_ready{queue=\"orders-%zu\",vhost=\"/prod\"} %u %llu\n", k,
                rng.below(10000), 1733450000000ULL + i * 1000 + k);
        } else {
            put(out, "app_queue_messages_ready{queue=\"orders-%zu\",vhost=\"/prod\"} %u\n", k,
                rng.below(10000));
        }
    }
    out += "# HELP rpc_duration_seconds RPC latency.\n# TYPE rpc_duration_seconds summary\n";
    for (std::size_t k = 0; k < 4; ++k) {
        for (const char* q : quantiles) {
            put(out, "rpc_duration_seconds{service=\"s%zu\",quantile=\"%s\"} 0.%03u\n", k, q,
                rng.below(1000));
        }
        put(out, "rpc_duration_seconds_sum{service=\"s%zu\"} %u.5\n", k, rng.below(10000));
        put(out, "rpc_duration_seconds_count{service=\"s%zu\"} %u\n", k, rng.below(100000));
    }
    // Long label blocks (over 64 bytes), one with an own label named like an injected one.
    out += "# TYPE http_client_requests_seconds_count counter\n";
    for (std::size_t k = 0; k < 3; ++k) {
        put(out,
            "http_client_requests_seconds_count{client_name=\"payments.internal.example.com\","
            "method=\"%s\",outcome=\"SUCCESS\",status=\"201\",uri=\"/v1/charges/{id}/%zu\"%s} "
            "%u\n",
            methods[k % 4], k, k == 2 ? ",instance_id=\"client-side\"" : "", rng.below(1000));
    }
    // Samples without metadata: an untyped family per name.
    put(out, "process_uptime_seconds %u.25\n", rng.below(100000));
    put(out, "legacy_latency{path=\"/a\"} %u\nlegacy_latency_sum{path=\"/a\"} %u\n", rng.below(100),
        rng.below(1000));
    // Some instances carry UTF-8 names (a Prometheus 3 client).
    if (i % 7 == 3) {
        out += "# TYPE \"app.cache.hits\" counter\n";
        put(out, "{\"app.cache.hits\",\"cache.name\"=\"users\"} %u\n", rng.below(1000));
        put(out, "{\"app.cache.hits\",\"cache.name\"=\"orders\",\"instance\"=\"c\"} %u\n",
            rng.below(1000));
        put(out, "app_cache_misses{\"cache.name\"=\"users\"} %u\n", rng.below(1000));
    }
    // Families only some instances have, in varying order.
    if (i % 5 == 2) {
        put(out,
            "# TYPE tomcat_sessions_active_current_sessions gauge\n"
            "tomcat_sessions_active_current_sessions %u\n",
            rng.below(300));
    }
    return out;
}

// An OpenMetrics instance (a newer build of the app): counters without `_total` in the family
// name, `_created`, exemplars, UNIT, info, stateset, gauge histogram, float-second timestamps.
std::string openmetrics_instance(std::size_t i) {
    lcg rng{i * 104729 + 3};
    std::string out;
    out +=
        "# TYPE http_server_requests_seconds histogram\n# UNIT http_server_requests_seconds "
        "seconds\n";
    for (std::size_t k = 0; k < 3; ++k) {
        std::uint32_t cumulative = 0;
        for (const char* le : buckets) {
            cumulative += rng.below(2000);
            put(out, "http_server_requests_seconds_bucket{method=\"%s\",uri=\"%s\",le=\"%s\"} %u",
                methods[k % 4], uris[k % 5], le, cumulative);
            if (le == buckets[3]) {
                put(out, " # {trace_id=\"%08x\"} 0.04%u 1733450000.%03u", rng.below(1u << 31),
                    rng.below(10), rng.below(1000));
            }
            out += '\n';
        }
        put(out, "http_server_requests_seconds_sum{method=\"%s\",uri=\"%s\"} %u.25\n",
            methods[k % 4], uris[k % 5], cumulative / 9);
        put(out, "http_server_requests_seconds_count{method=\"%s\",uri=\"%s\"} %u\n",
            methods[k % 4], uris[k % 5], cumulative);
        put(out, "http_server_requests_seconds_created{method=\"%s\",uri=\"%s\"} 1733400000.%u\n",
            methods[k % 4], uris[k % 5], k);
    }
    out += "# TYPE http_requests counter\n# HELP http_requests HTTP server requests.\n";
    for (std::size_t k = 0; k < 20; ++k) {
        put(out, "http_requests_total{method=\"%s\",uri=\"%s\",status=\"%s\"} %u", methods[k % 4],
            uris[k / 4 % 5], statuses[k / 20 % 4], rng.below(5000000));
        if (k % 5 == 0) {
            put(out, " # {trace_id=\"t%zu\"} 1", k);
        }
        out += '\n';
        put(out, "http_requests_created{method=\"%s\",uri=\"%s\",status=\"%s\"} 1733400000\n",
            methods[k % 4], uris[k / 4 % 5], statuses[k / 20 % 4]);
    }
    out += "# TYPE jvm_memory_used_bytes gauge\n# UNIT jvm_memory_used_bytes bytes\n";
    for (std::size_t k = 0; k < 8; ++k) {
        put(out, "jvm_memory_used_bytes{area=\"heap\",id=\"om %zu\",pool=\"p%zu\"} %u %u.%u\n", k,
            k, rng.below(1000000), 1733450000u + static_cast<unsigned>(i), rng.below(1000));
    }
    out += "# TYPE app_build info\n";
    put(out, "app_build_info{version=\"2.%zu.0\",branch=\"main\"} 1\n", i % 4);
    out += "# TYPE app_feature stateset\n";
    put(out,
        "app_feature{app_feature=\"checkout_v2\"} %u\napp_feature{app_feature=\"dark_mode\"} %u\n",
        rng.below(2), rng.below(2));
    out += "# TYPE app_queue_latency gaugehistogram\n";
    put(out,
        "app_queue_latency_bucket{le=\"1.0\"} %u\napp_queue_latency_bucket{le=\"+Inf\"} 50\n"
        "app_queue_latency_gcount 50\napp_queue_latency_gsum %u.5\n",
        rng.below(50), rng.below(500));
    out += "# TYPE rpc_duration_seconds summary\n";
    for (const char* q : quantiles) {
        put(out, "rpc_duration_seconds{service=\"om\",quantile=\"%s\"} 0.%03u\n", q,
            rng.below(1000));
    }
    put(out,
        "rpc_duration_seconds_sum{service=\"om\"} "
        "1.5e2\nrpc_duration_seconds_count{service=\"om\"} %u\n"
        "rpc_duration_seconds_created{service=\"om\"} 1.7334e9\n",
        rng.below(1000));
    out += "# EOF\n";
    return out;
}

// A pushed batch job (both pushes carry the same labels, and repeat one series).
std::string pushed_body(int n) {
    std::string out = "# TYPE batch_last_success_seconds gauge\n";
    put(out, "batch_last_success_seconds 17334%05d\n", n);
    out +=
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"GET\",uri=\"/push\",status=\"200\"} 3\n";
    if (n == 2) {
        out += "http_requests_total{method=\"GET\",uri=\"/push\",status=\"500\"} 1\n";
    }
    return out;
}

// A connected (RSocket) client: OpenMetrics, no injected labels, like the report.
std::string connected_body() {
    return "# TYPE http_requests counter\n"
           "http_requests_total{method=\"GET\",uri=\"/orders\",status=\"200\"} 9\n"
           "# TYPE worker_threads gauge\nworker_threads{pool=\"io\"} 8\n# EOF\n";
}

// The per-instance report the gateway adds last (no injected labels).
std::string report_body() {
    std::string out = "# HELP up Whether the instance answered.\n# TYPE up gauge\n";
    for (std::size_t i = 0; i < instance_count; ++i) {
        put(out, "up{instance=\"10.0.0.%zu:8080\",instance_id=\"%zu\"} %d\n", i, i,
            i == 23 ? 0 : 1);
    }
    out += "# TYPE scrape_duration_seconds gauge\n";
    for (std::size_t i = 0; i < instance_count; ++i) {
        put(out, "scrape_duration_seconds{instance=\"10.0.0.%zu:8080\"} 0.0%02zu\n", i, i);
    }
    return out;
}

struct fleet_app {
    struct source {
        std::string body;
        format input = format::prometheus_text;
        std::vector<label> injected;
        parsed_exposition parsed;
    };
    std::deque<std::string> values;  // owns the injected values
    std::deque<source> sources;

    label keep(std::string_view name, std::string value) {
        label l;
        l.name = name;
        l.value = values.emplace_back(std::move(value));
        return l;
    }

    fleet_app() {
        for (std::size_t i = 0; i < instance_count; ++i) {
            source& s = sources.emplace_back();
            s.input = i % 10 == 9 ? format::openmetrics : format::prometheus_text;
            s.body = s.input == format::openmetrics ? openmetrics_instance(i) : text_instance(i);
            // Cloud Foundry's labels, in the order the gateway injects them.
            s.injected = {keep("organization_id", "8a2d1c7e-5b0f-4d3a-9e61-0c4b7f2a9d10"),
                          keep("space_id", "3f6e9b21-7c4d-4a8e-b5f2-1d0e8c7a6b54"),
                          keep("app_id", "c1b2a3d4-e5f6-4789-8abc-def012345678"),
                          keep("organization_name", "platform-org"),
                          keep("space_name", "production \\\"eu\\\""),
                          keep("app_name", "orders-service"),
                          keep("instance_id", std::to_string(i)),
                          keep("index", std::to_string(i)),
                          keep("instance", "10.0.0." + std::to_string(i) + ":8080")};
            s.injected[4].value_has_escapes = true;
        }
        for (int n = 1; n <= 2; ++n) {
            source& s = sources.emplace_back();
            s.body = pushed_body(n);
            s.injected = {keep("job", "batch-report"), keep("instance", "push-gw")};
        }
        source& connected = sources.emplace_back();
        connected.input = format::openmetrics;
        connected.body = connected_body();
        sources.emplace_back().body = report_body();
    }

    // Read as the gateway reads every source. With `as_lines`, as it reads an instance's body:
    // kept as lines where every sample is a canonical line (sample_lines.hpp). Returns how
    // many families were kept so.
    std::size_t read(label_storage storage, bool as_lines = false) {
        std::size_t kept_as_lines = 0;
        for (source& s : sources) {
            leniency_report report;
            INFO(s.body);
            s.parsed.clear();
            REQUIRE(read_lenient(s.body, s.input, s.parsed, report, {}, storage));
            parsed_exposition lines;
            if (as_lines && report.empty()) {
                if (const std::size_t families = copy_as_sample_lines(s.parsed, s.body, lines)) {
                    s.parsed = std::move(lines);
                    kept_as_lines += families;
                }
            }
        }
        return kept_as_lines;
    }

    // The families of the sources read as Prometheus text.
    std::size_t text_families() const {
        std::size_t count = 0;
        for (const source& s : sources) {
            count += s.input == format::prometheus_text ? s.parsed.families.size() : 0;
        }
        return count;
    }

    void add_to(merger& m) const {
        for (const source& s : sources) {
            m.add_source(s.parsed, s.injected);
        }
    }
};

struct golden {
    format output;
    bool utf8_names;
    collision_policy collisions;
    std::size_t bytes;
    std::string_view sha256;
};

// Recorded from the merger before issue 17's changes (commit 3f5428f).
constexpr std::array<golden, 8> goldens{{
    {format::prometheus_text, true, collision_policy::rename_exported, 3521212,
     "8f069d57f24bce5acdbf5c55cbc7ac11051ca96ba5feffa038d06284c06a7ac7"},
    {format::prometheus_text, false, collision_policy::rename_exported, 3521126,
     "54555a1af055a41fa2858b498a6731eb8059360dabc3fe4c55e1b2f48886ab37"},
    {format::openmetrics, true, collision_policy::rename_exported, 3523037,
     "2d6e094c7194de9db2235db294d2f9abcd711b7defe943ece041ffcc897c4cea"},
    {format::openmetrics, false, collision_policy::rename_exported, 3522951,
     "efd4a5bc4b50ad90633ef13635f803c60a834443f996bfe618adaf6cbe839bc6"},
    {format::prometheus_text, true, collision_policy::overwrite, 3507963,
     "7bcaea6b80521cd40426dbaad4524f01be3404a8fc89412bb2e51bc18f354706"},
    {format::prometheus_text, false, collision_policy::overwrite, 3507877,
     "eb731b87b7edf56c239dfe127dd08c1905d92aabcda8cc7b6d88d90b6296becb"},
    {format::openmetrics, true, collision_policy::overwrite, 3509788,
     "973842b5215ae9ca5626c7f7d9c2b8f58e317e50a26c7809065c6bca59d3b432"},
    {format::openmetrics, false, collision_policy::overwrite, 3509702,
     "f3423830868c28a747abbd9152b1aef0b92dafbeb057df7ba92764c302f44cce"},
}};

std::string merged_in_chunks(const fleet_app& app, const golden& g, std::size_t soft_limit) {
    merger m(merge_options{g.collisions});
    app.add_to(m);
    m.start(writer_options{g.output, g.utf8_names});
    std::string out;
    while (!m.write_some(out, soft_limit)) {
    }
    return out;
}

}  // namespace

TEST_CASE(
    "golden merge: a fleet-like app's answer is byte-for-byte the recorded one in every "
    "output format") {
    fleet_app app;
    for (const auto& [storage, as_lines] : {std::pair{label_storage::raw_when_canonical, false},
                                            std::pair{label_storage::materialized, false},
                                            std::pair{label_storage::raw_when_canonical, true}}) {
        const std::size_t kept_as_lines = app.read(storage, as_lines);
        if (as_lines) {
            // Most families of the Prometheus text instances, and those of the pushed bodies
            // (which repeat a series) and the report, are kept as lines; the instances' families
            // with non-canonical blocks or escapes are not.
            CHECK(kept_as_lines > 3 * app.sources.size());
            CHECK(kept_as_lines < app.text_families());
        }
        for (const golden& g : goldens) {
            INFO("output " << (g.output == format::openmetrics ? "openmetrics" : "0.0.4")
                           << ", utf8_names " << g.utf8_names << ", collisions "
                           << (g.collisions == collision_policy::overwrite ? "overwrite" : "rename")
                           << ", storage "
                           << (storage == label_storage::materialized ? "materialized" : "raw")
                           << ", as lines " << as_lines);
            merger m(merge_options{g.collisions});
            app.add_to(m);
            const std::string answer = m.write_all(writer_options{g.output, g.utf8_names});
            CHECK(answer.size() == g.bytes);
            CHECK(mgw::test::sha256_hex(answer) == std::string(g.sha256));
            // The answer is streamed in chunks; where they end changes nothing.
            CHECK(merged_in_chunks(app, g, 997) == answer);
        }
    }
}

TEST_CASE("golden merge: the fleet-like app reaches the merge's special cases") {
    fleet_app app;
    app.read(label_storage::raw_when_canonical);
    merger rename;
    app.add_to(rename);
    const std::string text = rename.write_all(writer_options{format::prometheus_text, true});
    // Instance 17's counter jvm_memory_used_bytes, left out.
    REQUIRE(!rename.conflicts().empty());
    CHECK(rename.conflicts().front().source == 17);
    // The second push repeats two series of the first (same labels injected).
    CHECK(rename.duplicates_skipped() == 2);
    CHECK(text.find("exported_instance=\"db-3\"") != std::string::npos);
    CHECK(text.find("exported_instance=\"x\",exported_exported_instance=\"db-5\"") !=
          std::string::npos);
    CHECK(text.find("{\"app.cache.hits\",\"cache.name\"=\"users\"") != std::string::npos);
    CHECK(text.find("# TYPE http_server_requests_seconds_created gauge") != std::string::npos);
    CHECK(text.find("# TYPE app_queue_latency_gcount gauge") != std::string::npos);
    CHECK(text.find("space_name=\"production \\\"eu\\\"\"") != std::string::npos);
    // A block over 64 bytes whose last label collides.
    CHECK(text.find("uri=\"/v1/charges/{id}/2\",exported_instance_id=\"client-side\",") !=
          std::string::npos);

    const std::string legacy = rename.write_all(writer_options{format::openmetrics, false});
    CHECK(legacy.find("app_cache_hits_total{cache_name=\"users\"") != std::string::npos);
    CHECK(legacy.find(" # {trace_id=\"t0\"} 1") != std::string::npos);
    CHECK(legacy.ends_with("# EOF\n"));

    merger overwrite(merge_options{collision_policy::overwrite});
    app.add_to(overwrite);
    const std::string overwritten =
        overwrite.write_all(writer_options{format::prometheus_text, true});
    CHECK(overwritten.find("instance=\"db-3\"") == std::string::npos);
    CHECK(overwritten.find("{exported_instance=\"x\",organization_id=") != std::string::npos);
}
