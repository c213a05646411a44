// End-to-end benchmark of the BOSH event path with the real processes:
//
//   bosh_events_driver --gateway build/metrics-gateway [--events N] [--rate EVENTS_PER_S]
//       [--groups G] [--kind alert|heartbeat] [--queue-size Q] [--queue-bytes B]
//       [--soak-seconds S]
//
// Starts a UAA stand-in (answers every /check_token with 200), the gateway (bosh ingest on, 2
// threads), `metrics-gateway hm-plugin` with a pipe as its stdin, and G streaming clients of
// GET /v1/bosh/events, each with its own subscription id. Writes N HM lines into the plugin's
// stdin at RATE lines/s (0: as fast as the pipe takes them) and waits until every client has
// all of them. Reports the delivered rate (N / time from first write to last event at the
// slowest client), drops, the gateway's and the plugin's CPU seconds and the gateway's RSS.
// With --soak-seconds the rate is held that long and the RSS sampled every 10 s.
// Prints one "RESULT key=value ..." line; exits 1 when an event is missing or dropped.
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "hm_bench_support.hpp"

namespace {

using namespace mgw::bench::hm;

struct stream_client {
    int fd = -1;
    std::atomic<std::uint64_t> events{0};
    std::thread reader;
};

}  // namespace

int main(int argc, char** argv) {
    load_settings load;
    load.events = 1'000'000;
    std::string queue_bytes;  // bosh.queue_bytes as written in YAML ("16MiB"); "": the default
    int soak_seconds = 0;
    flag_table flags = load_flags(load);
    flags.emplace_back("--queue-bytes", [&](const char* v) { queue_bytes = v; });
    flags.emplace_back("--soak-seconds", [&](const char* v) { soak_seconds = std::atoi(v); });
    if (!parse_flags(argc, argv, flags, load,
                     "usage: bosh_events_driver --gateway PATH [--events N] [--rate R] "
                     "[--groups G] [--kind alert|heartbeat] [--queue-size Q] [--queue-bytes B] "
                     "[--soak-seconds S]")) {
        return 2;
    }
    auto& [gateway_binary, events, rate, groups, kind, queue_size] = load;
    ::signal(SIGPIPE, SIG_IGN);

    std::uint16_t uaa_port = 0;
    const int uaa_listener = listen_any(uaa_port);
    std::thread(serve_uaa, uaa_listener).detach();

    const std::uint16_t http_port = free_port();
    const std::uint16_t ingest_port = free_port();
    char dir_template[] = "/tmp/mgw-bosh-bench-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    const std::string config_path = dir + "/gateway.yml";
    std::ofstream(config_path) << "listen: 127.0.0.1:" << http_port
                               << "\nhealth_listen: 127.0.0.1:" << free_port()
                               << "\nthreads: 2\nlog: { level: warn, access: false }\n"
                               << "bosh:\n  ingest_listen: 127.0.0.1:" << ingest_port
                               << "\n  queue_size: " << queue_size
                               << (queue_bytes.empty() ? "" : "\n  queue_bytes: " + queue_bytes)
                               << "\n  uaa: { url: \"http://127.0.0.1:" << uaa_port
                               << "\", client_id: gw, client_secret: s }\n";

    const pid_t gateway = start_gateway(gateway_binary, config_path);
    wait_listening(http_port, 200);

    int plugin_stdin = -1;
    const pid_t plugin = start_plugin(gateway_binary, ingest_port, plugin_stdin);
    if (plugin < 0) {
        return 2;
    }

    std::vector<std::unique_ptr<stream_client>> clients;
    for (int g = 0; g < groups; ++g) {
        auto c = std::make_unique<stream_client>();
        c->fd = connect_to(http_port);
        write_all(c->fd, "GET /v1/bosh/events?subscription_id=group-" + std::to_string(g) +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bearer bench\r\n\r\n");
        stream_client* raw = c.get();
        c->reader = std::thread([raw] {
            // Counts `"kind":` occurrences; the tail of each read is kept so a marker split
            // across reads is still seen once.
            static constexpr std::string_view marker = "\"kind\":";
            std::vector<char> buffer(1 << 20);
            std::string tail;
            for (;;) {
                const ssize_t n = ::read(raw->fd, buffer.data(), buffer.size());
                if (n <= 0) {
                    return;
                }
                std::string_view data(buffer.data(), static_cast<std::size_t>(n));
                // `tail` is shorter than the marker: a match in tail + data always ends in data,
                // so none is counted twice.
                std::string joined = tail;
                joined.append(data);
                std::uint64_t found = 0;
                for (std::size_t at = joined.find(marker); at != std::string::npos;
                     at = joined.find(marker, at + 1)) {
                    ++found;
                }
                raw->events.fetch_add(found, std::memory_order_relaxed);
                tail.assign(data.substr(data.size() -
                                        std::min<std::size_t>(data.size(), marker.size() - 1)));
            }
        });
        clients.push_back(std::move(c));
    }
    for (int i = 0; i < 400; ++i) {
        if (sum_of(http_get(http_port, "/metrics"), "mgw_bosh_stream_clients") == groups) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }

    const std::vector<std::string> lines = rendered_lines(kind);
    if (soak_seconds > 0) {
        events = static_cast<std::uint64_t>(rate * soak_seconds);
    }
    const proc_stats gateway_before = stats_of(gateway);
    const proc_stats plugin_before = stats_of(plugin);
    const auto started = clock_type::now();
    std::vector<std::pair<int, long>> rss_samples;
    auto next_sample = started;
    const bool fed = feed_lines(plugin_stdin, lines, events, rate, started, [&] {
        if (soak_seconds > 0 && clock_type::now() >= next_sample) {
            const int second = static_cast<int>(
                std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - started)
                    .count());
            rss_samples.emplace_back(second, stats_of(gateway).rss_kb);
            next_sample += std::chrono::seconds(10);
        }
    });
    if (!fed) {
        return 1;
    }
    const auto written_at = clock_type::now();
    auto slowest = [&] {
        std::uint64_t m = events;
        for (const auto& c : clients) {
            m = std::min<std::uint64_t>(m, c->events.load());
        }
        return m;
    };
    auto finished_at = clock_type::now();
    for (std::uint64_t last = 0, stalled_ms = 0; slowest() < events && stalled_ms < 5000;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const std::uint64_t now_min = slowest();
        stalled_ms = now_min == last ? stalled_ms + 1 : 0;
        last = now_min;
        finished_at = clock_type::now();
    }
    if (slowest() >= events) {
        finished_at = clock_type::now();
    }
    const proc_stats gateway_after = stats_of(gateway);
    const proc_stats plugin_after = stats_of(plugin);
    const std::string metrics = http_get(http_port, "/metrics");
    const double seconds = std::chrono::duration<double>(finished_at - started).count();
    const double write_seconds = std::chrono::duration<double>(written_at - started).count();

    ::close(plugin_stdin);
    int status = 0;
    ::waitpid(plugin, &status, 0);
    ::kill(gateway, SIGTERM);
    for (auto& c : clients) {
        c->reader.join();
        ::close(c->fd);
    }
    ::waitpid(gateway, &status, 0);
    std::remove(config_path.c_str());
    ::rmdir(dir.c_str());

    const std::uint64_t received_min = [&] {
        std::uint64_t m = UINT64_MAX;
        for (const auto& c : clients) {
            m = std::min<std::uint64_t>(m, c->events.load());
        }
        return m;
    }();
    const double dropped = sum_of(metrics, "mgw_bosh_subscription_dropped_total");
    const double ingested = sum_of(metrics, "mgw_bosh_ingest_events_total");
    std::printf(
        "RESULT kind=%s groups=%d events=%llu rate_target=%.0f write_seconds=%.3f "
        "seconds=%.3f delivered_per_s=%.0f min_received=%llu ingested=%.0f dropped=%.0f "
        "gateway_cpu_s=%.2f plugin_cpu_s=%.2f gateway_rss_kb=%ld gateway_hwm_kb=%ld\n",
        kind.c_str(), groups, static_cast<unsigned long long>(events), rate, write_seconds, seconds,
        static_cast<double>(events) / seconds, static_cast<unsigned long long>(received_min),
        ingested, dropped, gateway_after.cpu_seconds - gateway_before.cpu_seconds,
        plugin_after.cpu_seconds - plugin_before.cpu_seconds, gateway_after.rss_kb,
        gateway_after.hwm_kb);
    for (const auto& [second, rss] : rss_samples) {
        std::printf("RSS t=%ds rss_kb=%ld\n", second, rss);
    }
    return received_min >= events && dropped == 0 ? 0 : 1;
}
