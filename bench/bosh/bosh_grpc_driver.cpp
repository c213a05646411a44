// End-to-end benchmark of the BOSH gRPC egress with the real processes:
//
//   bosh_grpc_driver --gateway build/metrics-gateway [--events N] [--rate EVENTS_PER_S]
//       [--groups G] [--kind alert|heartbeat] [--queue-size Q] [--idle-streams I]
//
// Starts a UAA stand-in (answers every /check_token with 200), makes a CA and a server
// certificate with the openssl CLI, starts the gateway (bosh ingest and bosh.grpc on, 2
// threads) and `metrics-gateway hm-plugin` with a pipe as its stdin, then G BoshMetrics
// subscribers, one connection and one subscription id each. With --idle-streams, I more streams
// are opened first (100 per connection), all in one extra group ("idle-pool"), so that the
// group's events are spread over I streams: each of them is mostly idle, and together they are
// the per-stream state, timers and memory the gateway carries beside the measured groups. HM
// lines are written into the plugin's stdin at RATE lines/s; the run ends when every measured
// subscriber has all N events (or after a 5 s stall). Reports the delivered rate (N / time
// from the first write to the last event at the slowest subscriber), drops (the gateway's
// mgw_bosh_subscription_dropped_total), gateway CPU seconds and RSS, as one "RESULT ..." line;
// exits 1 when an event is missing.
//
// The subscribers are gRPC clients on the gateway's own client core (mgw::grpc::connection,
// role client) over blocking OpenSSL sockets, one thread each: cheap enough that the 2-core
// machine spends its time in the gateway. (Interop with grpc-go, C-core and grpc-js is what the
// integration tests check.)
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mgw_proto_bosh/server.pb.h>
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

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/connection.hpp>

#include "hm_bench_support.hpp"

namespace {

using namespace mgw::bench::hm;

bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A CA and a server certificate for 127.0.0.1 in `dir` (ca.pem, server.pem, server.key).
bool make_certificates(const std::string& dir) {
    std::ofstream(dir + "/ext.cnf") << "subjectAltName=IP:127.0.0.1\n";
    return run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/ca.key -out " + dir +
               "/ca.pem -days 1 -subj /CN=bench-ca") &&
           run("openssl req -newkey rsa:2048 -nodes -keyout " + dir + "/server.key -out " + dir +
               "/server.csr -subj /CN=127.0.0.1") &&
           run("openssl x509 -req -in " + dir + "/server.csr -CA " + dir + "/ca.pem -CAkey " + dir +
               "/ca.key -CAcreateserial -out " + dir + "/server.pem -days 1 -extfile " + dir +
               "/ext.cnf");
}

// One TLS connection carrying `ids.size()` BoshMetrics streams; counts the events received.
struct subscriber {
    std::vector<std::string> ids;
    std::atomic<std::uint64_t> events{0};
    std::atomic<bool> subscribed{false};
    std::atomic<bool> failed{false};
    std::thread thread;
};

void run_subscriber(subscriber& sub, std::uint16_t port, SSL_CTX* tls) {
    namespace grpc = mgw::grpc;
    const int fd = connect_to(port);
    SSL* ssl = SSL_new(tls);
    SSL_set_fd(ssl, fd);
    if (fd < 0 || SSL_connect(ssl) != 1) {
        sub.failed = true;
        return;
    }
    mgw::core::memory_budget budget(0);
    grpc::connection_options options;
    options.side = grpc::role::client;
    options.authority = "127.0.0.1";
    options.initial_window_bytes = 8 * 1024 * 1024;
    options.keepalive_time = std::chrono::milliseconds(0);
    grpc::connection conn(options, budget, grpc::clock::now());
    grpc::metadata md;
    md.add("authorization", "bench");
    for (const std::string& id : sub.ids) {
        const auto stream = conn.start_call("/definitions.Egress/BoshMetrics", md, std::nullopt,
                                            grpc::clock::now());
        definitions::EgressRequest request;
        request.set_subscription_id(id);
        conn.send_message(*stream, grpc::outgoing_message::copy_of(request.SerializeAsString()));
        conn.close_send(*stream);
    }
    std::vector<grpc::event> events;
    std::string out;
    std::vector<char> buffer(1 << 20);
    std::size_t started = 0;
    for (;;) {
        out.clear();
        events.clear();
        conn.take_output(out, 1 << 20, events);
        if (!out.empty() && SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) {
            break;
        }
        conn.output_written(events);
        const int n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) {
            break;
        }
        events.clear();
        if (!conn.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                          grpc::clock::now(), events)) {
            break;
        }
        std::uint64_t received = 0;
        for (const grpc::event& e : events) {
            if (std::holds_alternative<grpc::message_received>(e)) {
                ++received;
            } else if (std::holds_alternative<grpc::response_started>(e)) {
                if (++started == sub.ids.size()) {
                    sub.subscribed = true;
                }
            } else if (std::holds_alternative<grpc::call_finished>(e)) {
                sub.failed = true;
            }
        }
        sub.events.fetch_add(received, std::memory_order_relaxed);
    }
    SSL_free(ssl);
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    load_settings load;
    load.events = 300'000;
    load.rate = 100'000;
    int idle_streams = 0;
    flag_table flags = load_flags(load);
    flags.emplace_back("--idle-streams", [&](const char* v) { idle_streams = std::atoi(v); });
    if (!parse_flags(argc, argv, flags, load,
                     "usage: bosh_grpc_driver --gateway PATH [--events N] [--rate R] [--groups G] "
                     "[--kind alert|heartbeat] [--queue-size Q] [--idle-streams I]")) {
        return 2;
    }
    auto& [gateway_binary, events, rate, groups, kind, queue_size] = load;
    ::signal(SIGPIPE, SIG_IGN);

    char dir_template[] = "/tmp/mgw-grpc-bench-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    if (!make_certificates(dir)) {
        std::cerr << "openssl failed\n";
        return 2;
    }
    std::uint16_t uaa_port = 0;
    const int uaa_listener = listen_any(uaa_port);
    std::thread(serve_uaa, uaa_listener).detach();

    const std::uint16_t http_port = free_port();
    const std::uint16_t ingest_port = free_port();
    const std::uint16_t grpc_port = free_port();
    const std::string config_path = dir + "/gateway.yml";
    std::ofstream(config_path) << "listen: 127.0.0.1:" << http_port
                               << "\nhealth_listen: 127.0.0.1:" << free_port()
                               << "\nthreads: 2\nlog: { level: warn, access: false }\n"
                               << "bosh:\n  ingest_listen: 127.0.0.1:" << ingest_port
                               << "\n  queue_size: " << queue_size
                               << "\n  max_subscriptions: 100000"
                               << "\n  uaa: { url: \"http://127.0.0.1:" << uaa_port
                               << "\", client_id: gw, client_secret: s }\n"
                               << "  grpc:\n    listen: 127.0.0.1:" << grpc_port
                               << "\n    tls: { cert_file: " << dir
                               << "/server.pem, key_file: " << dir << "/server.key }\n";

    const pid_t gateway = start_gateway(gateway_binary, config_path);
    wait_listening(grpc_port, 400);

    int plugin_stdin = -1;
    const pid_t plugin = start_plugin(gateway_binary, ingest_port, plugin_stdin);
    if (plugin < 0) {
        return 2;
    }

    SSL_CTX* tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(tls, (dir + "/ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, nullptr);
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(tls, alpn, sizeof alpn);

    // Idle streams first (100 per connection, the default stream limit), then the measured
    // subscribers.
    std::vector<std::unique_ptr<subscriber>> idle;
    for (int left = idle_streams; left > 0; left -= 100) {
        auto s = std::make_unique<subscriber>();
        s->ids.assign(static_cast<std::size_t>(std::min(left, 100)), "idle-pool");
        subscriber* raw = s.get();
        s->thread = std::thread([raw, grpc_port, tls] { run_subscriber(*raw, grpc_port, tls); });
        idle.push_back(std::move(s));
    }
    std::vector<std::unique_ptr<subscriber>> measured;
    for (int g = 0; g < groups; ++g) {
        auto s = std::make_unique<subscriber>();
        s->ids = {"group-" + std::to_string(g)};
        subscriber* raw = s.get();
        s->thread = std::thread([raw, grpc_port, tls] { run_subscriber(*raw, grpc_port, tls); });
        measured.push_back(std::move(s));
    }
    const auto expected_streams = static_cast<double>(groups + idle_streams);
    for (int i = 0; i < 2400; ++i) {
        if (sum_of(http_get(http_port, "/metrics"), "mgw_bosh_grpc_streams") >= expected_streams) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    const double streams_open = sum_of(http_get(http_port, "/metrics"), "mgw_bosh_grpc_streams");
    const proc_stats gateway_idle = stats_of(gateway);

    const std::vector<std::string> lines = rendered_lines(kind);
    const proc_stats gateway_before = stats_of(gateway);
    const auto started = clock_type::now();
    if (!feed_lines(plugin_stdin, lines, events, rate, started)) {
        return 1;
    }
    auto slowest = [&] {
        std::uint64_t m = events;
        for (const auto& s : measured) {
            m = std::min<std::uint64_t>(m, s->events.load());
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
    const proc_stats gateway_after = stats_of(gateway);
    const std::string metrics = http_get(http_port, "/metrics");
    const double drops = sum_of(metrics, "mgw_bosh_subscription_dropped_total");
    std::uint64_t idle_events = 0;
    for (const auto& s : idle) {
        idle_events += s->events.load();
    }
    const double seconds = std::chrono::duration<double>(finished_at - started).count();
    const bool complete = slowest() >= events;

    std::cout << "RESULT kind=" << kind << " events=" << events << " rate=" << rate
              << " groups=" << groups << " queue_size=" << queue_size
              << " idle_streams=" << idle_streams << " streams_open=" << streams_open
              << " complete=" << (complete ? "yes" : "no") << " slowest=" << slowest()
              << " delivered_per_s=" << static_cast<std::uint64_t>(events / seconds)
              << " drops=" << drops << " idle_pool_events=" << idle_events
              << " gateway_cpu_s=" << (gateway_after.cpu_seconds - gateway_before.cpu_seconds)
              << " gateway_rss_idle_mb=" << gateway_idle.rss_kb / 1024
              << " gateway_rss_mb=" << gateway_after.rss_kb / 1024
              << " gateway_peak_rss_mb=" << gateway_after.hwm_kb / 1024 << "\n";

    ::close(plugin_stdin);
    ::kill(plugin, SIGTERM);
    ::kill(gateway, SIGTERM);
    ::waitpid(plugin, nullptr, 0);
    ::waitpid(gateway, nullptr, 0);
    for (auto& s : measured) {
        s->thread.join();
    }
    for (auto& s : idle) {
        s->thread.join();
    }
    SSL_CTX_free(tls);
    run("rm -rf " + dir);
    return complete ? 0 : 1;
}
