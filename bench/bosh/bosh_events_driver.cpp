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

namespace {

using clock_type = std::chrono::steady_clock;

int listen_any(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
        std::perror("bind");
        std::exit(2);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

std::uint16_t free_port() {
    std::uint16_t port = 0;
    ::close(listen_any(port));
    return port;
}

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// One request, Connection: close, the whole answer.
std::string http_get(std::uint16_t port, const std::string& path) {
    const int fd = connect_to(port);
    if (fd < 0) {
        return {};
    }
    write_all(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    std::string out;
    char buffer[65536];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

double sum_of(const std::string& text, std::string_view name) {
    double sum = 0;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with(std::string(name) + "{") ||
            line.starts_with(std::string(name) + " ")) {
            sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
        }
    }
    return sum;
}

// UAA stand-in: every request gets a 200 check_token answer for a token valid for an hour.
void serve_uaa(int listener) {
    for (;;) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) {
            return;
        }
        char buffer[8192];
        std::string request;
        ssize_t n = 0;
        while (request.find("\r\n\r\n") == std::string::npos &&
               (n = ::read(fd, buffer, sizeof buffer)) > 0) {
            request.append(buffer, static_cast<std::size_t>(n));
        }
        const std::size_t length_at = request.find("Content-Length: ");
        if (length_at != std::string::npos) {
            const std::size_t length = std::strtoul(request.c_str() + length_at + 16, nullptr, 10);
            const std::size_t have = request.size() - request.find("\r\n\r\n") - 4;
            for (std::size_t left = length - std::min(length, have); left > 0;) {
                n = ::read(fd, buffer, std::min(left, sizeof buffer));
                if (n <= 0) {
                    break;
                }
                left -= static_cast<std::size_t>(n);
            }
        }
        const long exp = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() +
                         3600;
        const std::string body =
            R"({"scope":["bosh.system_metrics.read"],"exp":)" + std::to_string(exp) + "}";
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        ::close(fd);
    }
}

std::string heartbeat(std::uint64_t n) {
    const std::string ts = std::to_string(1700000000 + n % 1000);
    const std::string id = "inst-" + std::to_string(n % 500);
    std::string metrics;
    for (const char* name :
         {"system.load.1m", "system.cpu.user", "system.cpu.sys", "system.cpu.wait",
          "system.mem.percent", "system.mem.kb", "system.swap.percent", "system.swap.kb",
          "system.disk.system.percent", "system.disk.system.inode_percent", "system.healthy"}) {
        if (!metrics.empty()) {
            metrics += ',';
        }
        metrics += R"({"name":")" + std::string(name) + R"(","value":"12.5","timestamp":)" + ts +
                   R"(,"tags":{"job":"router","index":"0","id":")" + id + "\"}}";
    }
    return R"({"kind":"heartbeat","id":"hb-)" + std::to_string(n) + R"(","timestamp":)" + ts +
           R"(,"deployment":"cf","agent_id":"agent","job":"router","index":"0","instance_id":")" +
           id +
           R"(","job_state":"running","vitals":{"cpu":{"sys":"7.0","user":"12.5","wait":"0.8"},"load":["0.45","1.05","0.97"],"mem":{"kb":"1502632","percent":"37"}},"teams":[],"metrics":[)" +
           metrics + R"(],"number_of_processes":5})";
}

std::string alert(std::uint64_t n) {
    return R"({"kind":"alert","id":"alert-)" + std::to_string(n) +
           R"(","severity":4,"category":null,"title":"SSH Access Denied","summary":"Failed password for vcap from 10.244.0.1 port 38732 ssh2","source":"cf: router(6f721317) [id=130a69f5, index=0, cid=b5df1c77]","deployment":"cf","created_at":1499359162})";
}

struct proc_stats {
    double cpu_seconds = 0;
    long rss_kb = 0;
    long hwm_kb = 0;
};

proc_stats stats_of(pid_t pid) {
    proc_stats s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const std::size_t close_paren = text.rfind(')');
    if (close_paren != std::string::npos) {
        std::istringstream fields(text.substr(close_paren + 2));
        std::string field;
        unsigned long utime = 0;
        unsigned long stime = 0;
        for (int i = 3; fields >> field; ++i) {
            if (i == 14) {
                utime = std::stoul(field);
            } else if (i == 15) {
                stime = std::stoul(field);
                break;
            }
        }
        s.cpu_seconds =
            static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) {
            s.rss_kb = std::strtol(line.c_str() + 6, nullptr, 10);
        } else if (line.starts_with("VmHWM:")) {
            s.hwm_kb = std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return s;
}

struct stream_client {
    int fd = -1;
    std::atomic<std::uint64_t> events{0};
    std::thread reader;
};

}  // namespace

int main(int argc, char** argv) {
    std::string gateway_binary;
    std::uint64_t events = 1'000'000;
    double rate = 0;
    int groups = 10;
    std::string kind = "alert";
    int queue_size = 1024;
    std::string queue_bytes;  // bosh.queue_bytes as written in YAML ("16MiB"); "": the default
    int soak_seconds = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const char* value = argv[i + 1];
        if (arg == "--gateway") {
            gateway_binary = value;
        } else if (arg == "--events") {
            events = std::strtoull(value, nullptr, 10);
        } else if (arg == "--rate") {
            rate = std::strtod(value, nullptr);
        } else if (arg == "--groups") {
            groups = std::atoi(value);
        } else if (arg == "--kind") {
            kind = value;
        } else if (arg == "--queue-size") {
            queue_size = std::atoi(value);
        } else if (arg == "--queue-bytes") {
            queue_bytes = value;
        } else if (arg == "--soak-seconds") {
            soak_seconds = std::atoi(value);
        } else {
            std::cerr << "unknown argument " << arg << "\n";
            return 2;
        }
    }
    if (gateway_binary.empty()) {
        std::cerr << "usage: bosh_events_driver --gateway PATH [--events N] [--rate R] "
                     "[--groups G] [--kind alert|heartbeat] [--queue-size Q] [--queue-bytes B] "
                     "[--soak-seconds S]\n";
        return 2;
    }
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

    const pid_t gateway = ::fork();
    if (gateway == 0) {
        ::execl(gateway_binary.c_str(), gateway_binary.c_str(), "serve", "--config",
                config_path.c_str(), nullptr);
        std::_Exit(127);
    }
    for (int i = 0; i < 200; ++i) {
        const int fd = connect_to(http_port);
        if (fd >= 0) {
            ::close(fd);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }

    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) {
        return 2;
    }
    const pid_t plugin = ::fork();
    if (plugin == 0) {
        ::dup2(pipe_fds[0], 0);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        const std::string server = "127.0.0.1:" + std::to_string(ingest_port);
        ::execl(gateway_binary.c_str(), gateway_binary.c_str(), "hm-plugin", "--server",
                server.c_str(), nullptr);
        std::_Exit(127);
    }
    ::close(pipe_fds[0]);
    const int plugin_stdin = pipe_fds[1];

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

    // Pre-rendered lines, cycled: formatting must not be what is measured.
    std::vector<std::string> lines;
    for (std::uint64_t n = 0; n < 4096; ++n) {
        lines.push_back((kind == "heartbeat" ? heartbeat(n) : alert(n)) + "\n");
    }
    if (soak_seconds > 0) {
        events = static_cast<std::uint64_t>(rate * soak_seconds);
    }
    const proc_stats gateway_before = stats_of(gateway);
    const proc_stats plugin_before = stats_of(plugin);
    const auto started = clock_type::now();
    std::vector<std::pair<int, long>> rss_samples;
    auto next_sample = started;
    std::string batch;
    std::uint64_t written = 0;
    while (written < events) {
        std::uint64_t due = events;
        if (rate > 0) {
            const double elapsed =
                std::chrono::duration<double>(clock_type::now() - started).count();
            due = std::min<std::uint64_t>(events, static_cast<std::uint64_t>(elapsed * rate) + 1);
            if (due <= written) {
                std::this_thread::sleep_for(std::chrono::microseconds(500));
                continue;
            }
        }
        batch.clear();
        for (; written < due && batch.size() < (1 << 20); ++written) {
            batch += lines[written % lines.size()];
        }
        if (!write_all(plugin_stdin, batch)) {
            std::cerr << "plugin stdin closed\n";
            return 1;
        }
        if (soak_seconds > 0 && clock_type::now() >= next_sample) {
            const int second = static_cast<int>(
                std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - started)
                    .count());
            rss_samples.emplace_back(second, stats_of(gateway).rss_kb);
            next_sample += std::chrono::seconds(10);
        }
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
