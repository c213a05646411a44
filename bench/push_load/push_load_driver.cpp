// Load driver for POST /v1/metrics over keep-alive HTTP/1.1. The gateway's own http::server and
// push::push_service run in this process on ONE I/O thread (so "per core" is that thread's CPU
// time), with a binding on a limited plan so the rate limiter does its work on every request;
// the clients run on another thread. Two phases:
//
//   push_load_driver [--connections C] [--seconds S] [--metrics M] [--rate R] [--open-only]
//                    [--access-log] [--threads N]
//                    [--loggregator HOST:PORT --ca FILE --cert FILE --key FILE]
//
// With --loggregator the Loggregator emitter runs on the same I/O thread and every accepted
// metric also goes to that agent (the stand-in of test/integration/loggregator_agent, started
// without --out so that it only counts): the RESULT lines then add the envelopes sent per
// second and those dropped, so that one run with and one without show what the emitter costs.
//
//   1. closed loop: C connections each send the next request as soon as the previous answer
//      arrives, for S seconds: metrics/s, and metrics per CPU-second of the server thread.
//   2. open loop at R requests/s (default: half of phase 1's rate) spread over the C
//      connections on a fixed schedule: latency from each request's scheduled send time to
//      its answer (no coordinated omission), p50/p99/max.
//
// --threads N runs the server's io_context on N threads, as the gateway's `threads: N` does
// (server CPU is then the sum of those threads'; the wall-clock metrics/s is the figure).
//
// --open-only (with --rate) skips phase 1 and warms up at the open rate: a fixed amount of work,
// for instruction counts under callgrind (bench/loggregator/instructions.py).
//
// Every request must be answered 202; the driver exits non-zero otherwise. One "RESULT" line
// per phase, and one for the whole run (metrics accepted, warm-up included: the divisor of an
// instruction count of the server thread under callgrind).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <optional>
#include <pthread.h>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <fmt/core.h>
#include <prometheus/registry.h>

#include <mgw/core/log.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server.hpp>
#include <mgw/loggregator/emitter.hpp>
#include <mgw/push/push_service.hpp>

#include "../push_body.hpp"

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view app_guid = "a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d";

class one_key_directory final : public mgw::push::binding_directory {
  public:
    std::optional<mgw::push::push_binding> find_by_access_key(std::string_view key) const override {
        if (key != "bench-key") {
            return std::nullopt;
        }
        return mgw::push::push_binding{
            .binding_id = "bench-binding",
            .app_guid = std::string(app_guid),
            .plan_id = "limited",
            .limits = {.requests_per_minute = 4'000'000'000u, .metrics_per_minute = 4'000'000'000u},
            .labels = {{"organization_name", "org"}, {"space_name", "dev"}}};
    }
};

// A push request with forwarder_body(): one instance per connection.
std::string request_bytes(std::size_t metrics, int instance) {
    const std::string body = forwarder_body(metrics, app_guid, instance);
    std::string out =
        "POST /v1/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bench-key\r\n"
        "Content-Type: application/json;charset=UTF-8\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\n\r\n";
    out += body;
    return out;
}

struct phase_stats {
    std::vector<double> latencies_ms;
    std::uint64_t requests = 0;
    std::uint64_t failures = 0;
};

double thread_cpu_seconds(pthread_t thread) {
    clockid_t id;
    pthread_getcpuclockid(thread, &id);
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One keep-alive connection. interval == 0: closed loop; else one request per interval from
// `start` on, latency measured from the scheduled time.
asio::awaitable<void> connection(asio::ip::tcp::endpoint server, std::string bytes,
                                 clock_type::time_point start, clock_type::time_point end,
                                 clock_type::duration interval, phase_stats& stats) {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    socket.set_option(asio::ip::tcp::no_delay(true));
    boost::beast::flat_buffer buffer;
    asio::steady_timer timer(executor);
    auto scheduled = start;
    for (;;) {
        if (interval != clock_type::duration::zero()) {
            if (scheduled >= end) {
                break;
            }
            timer.expires_at(scheduled);
            co_await timer.async_wait(asio::use_awaitable);
        } else {
            scheduled = clock_type::now();
            if (scheduled >= end) {
                break;
            }
        }
        auto [write_error, written] = co_await asio::async_write(
            socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
        beast_http::response_parser<beast_http::empty_body> parser;
        parser.skip(false);
        auto [read_error, read] = co_await beast_http::async_read(
            socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
        const auto done = clock_type::now();
        ++stats.requests;
        if (write_error || read_error || parser.get().result_int() != 202) {
            ++stats.failures;
            break;
        }
        stats.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(done - scheduled).count());
        scheduled += interval;
    }
}

phase_stats run_phase(asio::ip::tcp::endpoint server, const std::vector<std::string>& requests,
                      std::chrono::seconds duration, double rate) {
    asio::io_context io(1);
    std::vector<phase_stats> per_connection(requests.size());
    const auto start = clock_type::now() + 50ms;
    const auto end = start + duration;
    const auto interval =
        rate > 0 ? std::chrono::duration_cast<clock_type::duration>(
                       std::chrono::duration<double>(static_cast<double>(requests.size()) / rate))
                 : clock_type::duration::zero();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        // Spread the open-loop schedules evenly over one interval.
        const auto offset = interval * static_cast<long>(i) / static_cast<long>(requests.size());
        asio::co_spawn(
            io, connection(server, requests[i], start + offset, end, interval, per_connection[i]),
            asio::detached);
    }
    io.run();
    phase_stats total;
    for (auto& s : per_connection) {
        total.requests += s.requests;
        total.failures += s.failures;
        total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(),
                                  s.latencies_ms.end());
    }
    std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
    return total;
}

// The sum of a counter family's samples in `registry` (0 when absent).
double counter_total(prometheus::Registry& registry, std::string_view name,
                     std::string_view label_value = {}) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) {
            continue;
        }
        for (const auto& metric : family.metric) {
            const bool match = label_value.empty() ||
                               std::any_of(metric.label.begin(), metric.label.end(),
                                           [&](const auto& l) { return l.value == label_value; });
            if (match) {
                total += metric.counter.value;
            }
        }
    }
    return total;
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t connections = 16;
    int seconds = 10;
    std::size_t metrics = 100;
    int threads = 1;
    double rate = 0;
    bool access_log = false;
    bool open_only = false;
    std::string agent;
    mgw::loggregator::emitter_options emitter_options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (arg == "--connections") {
            connections = std::stoul(value());
        } else if (arg == "--seconds") {
            seconds = std::stoi(value());
        } else if (arg == "--metrics") {
            metrics = std::stoul(value());
        } else if (arg == "--rate") {
            rate = std::stod(value());
        } else if (arg == "--threads") {
            threads = std::max(1, std::stoi(value()));
        } else if (arg == "--access-log") {
            access_log = true;
        } else if (arg == "--open-only") {
            open_only = true;
        } else if (arg == "--loggregator") {
            agent = value();
        } else if (arg == "--ca") {
            emitter_options.agent.ca_file = value();
        } else if (arg == "--cert") {
            emitter_options.agent.cert_file = value();
        } else if (arg == "--key") {
            emitter_options.agent.key_file = value();
        } else {
            std::fprintf(stderr,
                         "usage: push_load_driver [--connections C] [--seconds S] "
                         "[--metrics M] [--rate R] [--open-only] [--access-log] [--threads N] "
                         "[--loggregator HOST:PORT --ca F --cert F --key F]\n");
            return 2;
        }
    }

    if (open_only && rate <= 0) {
        std::fprintf(stderr, "push_load_driver: --open-only needs --rate\n");
        return 2;
    }

    // The access log (when on) goes to /dev/null: its formatting cost counts, the disk's not.
    const int log_fd = ::open("/dev/null", O_WRONLY);
    mgw::core::logger log(mgw::core::log_level::info, mgw::core::log_format::json, log_fd);
    prometheus::Registry registry;
    one_key_directory directory;
    mgw::push::push_service_options options;
    options.max_body_bytes = 1 << 20;
    mgw::push::push_service pusher(directory, options, log, registry);
    mgw::http::router routes;
    pusher.register_routes(routes);

    asio::io_context server_io(threads);
    mgw::core::memory_budget budget(0);
    std::optional<mgw::loggregator::emitter> emitter;
    if (!agent.empty()) {
        const auto colon = agent.rfind(':');
        emitter_options.agent.host = agent.substr(0, colon);
        emitter_options.agent.port = static_cast<std::uint16_t>(std::stoi(agent.substr(colon + 1)));
        emitter_options.agent.server_name = "metron";
        emitter_options.push = true;
        emitter.emplace(server_io, emitter_options, budget, log, registry);
        pusher.on_accepted(
            [&emitter](const mgw::push::push_binding& binding,
                       const mgw::push::push_request& request,
                       std::int64_t wall_ms) { emitter->emit_push(binding, request, wall_ms); });
        emitter->start();
    }
    mgw::http::server_options server_options;
    server_options.host = "127.0.0.1";
    server_options.port = 0;
    server_options.access_log = access_log;
    mgw::http::server server(server_io, server_options, std::move(routes), log, registry);
    server.start();
    auto work = asio::make_work_guard(server_io);
    std::vector<std::thread> server_threads;
    for (int t = 0; t < threads; ++t) {
        server_threads.emplace_back([&] { server_io.run(); });
    }
    const auto server_cpu_seconds = [&server_threads] {
        double total = 0;
        for (std::thread& t : server_threads) {
            total += thread_cpu_seconds(t.native_handle());
        }
        return total;
    };
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"),
                                           server.local_port());

    std::vector<std::string> requests;
    for (std::size_t i = 0; i < connections; ++i) {
        requests.push_back(request_bytes(metrics, static_cast<int>(i)));
    }

    // Warm-up: series created, connections' code paths hot. With --open-only at the open rate,
    // so that a run under valgrind does a fixed amount of work with nothing dropped.
    run_phase(endpoint, requests, 1s, open_only ? rate : 0);

    phase_stats closed;
    double closed_rate = 0;
    if (!open_only) {
        const double sent_before = counter_total(registry, "mgw_loggregator_envelopes_sent_total");
        const double dropped_before =
            counter_total(registry, "mgw_loggregator_envelopes_dropped_total");
        const double cpu_before = server_cpu_seconds();
        const auto wall_before = clock_type::now();
        closed = run_phase(endpoint, requests, std::chrono::seconds(seconds), 0);
        const double wall =
            std::chrono::duration<double>(clock_type::now() - wall_before).count() - 0.05;
        const double cpu = server_cpu_seconds() - cpu_before;
        closed_rate = static_cast<double>(closed.requests) / wall;
        fmt::print(
            "RESULT phase=closed connections={} metrics_per_request={} requests={} failures={} "
            "requests_per_s={:.0f} metrics_per_s={:.0f} server_cpu_s={:.2f} "
            "metrics_per_server_cpu_s={:.0f} p50_ms={:.3f} p99_ms={:.3f} access_log={} "
            "threads={}\n",
            connections, metrics, closed.requests, closed.failures, closed_rate,
            closed_rate * static_cast<double>(metrics), cpu,
            static_cast<double>(closed.requests * metrics) / cpu,
            percentile(closed.latencies_ms, 0.5), percentile(closed.latencies_ms, 0.99), access_log,
            threads);
        if (emitter) {
            // The registry mirrors the emitter's counters once a second: wait for the last sync.
            std::this_thread::sleep_for(1500ms);
            const double sent =
                counter_total(registry, "mgw_loggregator_envelopes_sent_total") - sent_before;
            const double dropped =
                counter_total(registry, "mgw_loggregator_envelopes_dropped_total") - dropped_before;
            fmt::print(
                "RESULT phase=closed loggregator=on envelopes_sent={:.0f} "
                "envelopes_sent_per_s={:.0f} envelopes_dropped={:.0f}\n",
                sent, sent / wall, dropped);
        }
    }

    const double open_rate = rate > 0 ? rate : closed_rate / 2;
    const double open_sent_before = counter_total(registry, "mgw_loggregator_envelopes_sent_total");
    const double open_dropped_before =
        counter_total(registry, "mgw_loggregator_envelopes_dropped_total");
    const double open_cpu_before = server_cpu_seconds();
    const phase_stats open =
        run_phase(endpoint, requests, std::chrono::seconds(seconds), open_rate);
    const double open_cpu = server_cpu_seconds() - open_cpu_before;
    fmt::print(
        "RESULT phase=open connections={} rate_requests_per_s={:.0f} metrics_per_s={:.0f} "
        "requests={} failures={} server_cpu_s={:.2f} p50_ms={:.3f} p99_ms={:.3f} "
        "max_ms={:.3f}\n",
        connections, open_rate, open_rate * static_cast<double>(metrics), open.requests,
        open.failures, open_cpu, percentile(open.latencies_ms, 0.5),
        percentile(open.latencies_ms, 0.99),
        open.latencies_ms.empty() ? 0.0 : open.latencies_ms.back());
    if (emitter) {
        std::this_thread::sleep_for(1500ms);
        fmt::print(
            "RESULT phase=open loggregator=on envelopes_sent={:.0f} envelopes_dropped={:.0f}\n",
            counter_total(registry, "mgw_loggregator_envelopes_sent_total") - open_sent_before,
            counter_total(registry, "mgw_loggregator_envelopes_dropped_total") -
                open_dropped_before);
    }

    work.reset();
    asio::co_spawn(server_io, server.drain(clock_type::now() + 2s), asio::detached);
    if (emitter) {
        asio::co_spawn(server_io, emitter->drain(clock_type::now() + 5s), asio::detached);
    }
    for (std::thread& t : server_threads) {
        t.join();
    }
    // The whole run, warm-up included: what an instruction count of the server thread (valgrind
    // --tool=callgrind --separate-threads=yes) is divided by.
    fmt::print(
        "RESULT phase=total metrics_accepted={:.0f} envelopes_sent={:.0f} "
        "envelopes_dropped={:.0f}\n",
        counter_total(registry, "mgw_push_metrics_accepted_total"),
        counter_total(registry, "mgw_loggregator_envelopes_sent_total"),
        counter_total(registry, "mgw_loggregator_envelopes_dropped_total"));
    ::close(log_fd);
    const bool ok = closed.failures == 0 && open.failures == 0 &&
                    (open_only ? open.requests > 0 : closed.requests > 0);
    return ok ? 0 : 1;
}
