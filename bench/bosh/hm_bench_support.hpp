// What the BOSH event benchmarks (bosh_events_driver over HTTP, bosh_grpc_driver over gRPC)
// share: loopback sockets, a UAA stand-in that accepts every token, the gateway's /metrics
// read back, the HM lines both feed the plugin, the gateway and plugin processes, and a
// process's CPU and memory from /proc.
// Header-only: each driver is one executable.
#pragma once

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/types.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace mgw::bench::hm {

using clock_type = std::chrono::steady_clock;

inline int listen_any(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 1024) != 0) {
        std::perror("bind");
        std::exit(2);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

inline std::uint16_t free_port() {
    std::uint16_t port = 0;
    ::close(listen_any(port));
    return port;
}

inline int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline bool write_all(int fd, std::string_view data) {
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

inline std::string http_get(std::uint16_t port, const std::string& path) {
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

inline double sum_of(const std::string& text, std::string_view name) {
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
inline void serve_uaa(int listener) {
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

// The same HM lines as the HTTP benchmark (bosh_events_driver).
inline std::string heartbeat(std::uint64_t n) {
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

inline std::string alert(std::uint64_t n) {
    return R"({"kind":"alert","id":"alert-)" + std::to_string(n) +
           R"(","severity":4,"category":null,"title":"SSH Access Denied","summary":"Failed password for vcap from 10.244.0.1 port 38732 ssh2","source":"cf: router(6f721317) [id=130a69f5, index=0, cid=b5df1c77]","deployment":"cf","created_at":1499359162})";
}

struct proc_stats {
    double cpu_seconds = 0;
    long rss_kb = 0;
    long hwm_kb = 0;
};

inline proc_stats stats_of(pid_t pid) {
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

// The gateway as its own process: `serve --config config_path`.
inline pid_t start_gateway(const std::string& binary, const std::string& config_path) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl(binary.c_str(), binary.c_str(), "serve", "--config", config_path.c_str(), nullptr);
        std::_Exit(127);
    }
    return pid;
}

// Waits (25 ms steps, at most `attempts`) until something accepts on `port`.
inline void wait_listening(std::uint16_t port, int attempts) {
    for (int i = 0; i < attempts; ++i) {
        const int fd = connect_to(port);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

// `metrics-gateway hm-plugin --server 127.0.0.1:<ingest_port>` reading a pipe whose writing end
// is returned in `plugin_stdin`; -1 when no pipe could be made.
inline pid_t start_plugin(const std::string& binary, std::uint16_t ingest_port, int& plugin_stdin) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) {
        return -1;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipe_fds[0], 0);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        const std::string server = "127.0.0.1:" + std::to_string(ingest_port);
        ::execl(binary.c_str(), binary.c_str(), "hm-plugin", "--server", server.c_str(), nullptr);
        std::_Exit(127);
    }
    ::close(pipe_fds[0]);
    plugin_stdin = pipe_fds[1];
    return pid;
}

// Pre-rendered HM lines of `kind` ("alert" or "heartbeat"), cycled by the feeders: formatting
// must not be what is measured.
inline std::vector<std::string> rendered_lines(const std::string& kind) {
    std::vector<std::string> lines;
    for (std::uint64_t n = 0; n < 4096; ++n) {
        lines.push_back((kind == "heartbeat" ? heartbeat(n) : alert(n)) + "\n");
    }
    return lines;
}

// Writes `events` lines (cycled) to the plugin's stdin `fd` at `rate` events/s counted from
// `started` (0: as fast as the pipe takes them), in writes of up to 1 MiB; `after_write` runs
// after each. False (after saying so) when the plugin closed its stdin.
inline bool feed_lines(int fd, const std::vector<std::string>& lines, std::uint64_t events,
                       double rate, clock_type::time_point started,
                       const std::function<void()>& after_write = {}) {
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
        if (!write_all(fd, batch)) {
            std::cerr << "plugin stdin closed\n";
            return false;
        }
        if (after_write) {
            after_write();
        }
    }
    return true;
}

// The command line both drivers share: the gateway binary and the HM load (events, rate,
// subscription groups, event kind, per-subscription queue size); each driver adds its own flags.
struct load_settings {
    std::string gateway_binary;
    std::uint64_t events = 0;
    double rate = 0;
    int groups = 10;
    std::string kind = "alert";
    int queue_size = 1024;
};

// "--name value": the setter of each name a driver accepts.
using flag_table = std::vector<std::pair<std::string_view, std::function<void(const char*)>>>;

inline flag_table load_flags(load_settings& s) {
    return {{"--gateway", [&s](const char* v) { s.gateway_binary = v; }},
            {"--events", [&s](const char* v) { s.events = std::strtoull(v, nullptr, 10); }},
            {"--rate", [&s](const char* v) { s.rate = std::strtod(v, nullptr); }},
            {"--groups", [&s](const char* v) { s.groups = std::atoi(v); }},
            {"--kind", [&s](const char* v) { s.kind = v; }},
            {"--queue-size", [&s](const char* v) { s.queue_size = std::atoi(v); }}};
}

// Applies argv's "--name value" pairs; false after naming the first unknown one, or when
// the gateway binary is missing (then `usage` is printed).
inline bool parse_flags(int argc, char** argv, const flag_table& flags,
                        const load_settings& settings, std::string_view usage) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        bool known = false;
        for (const auto& [name, set] : flags) {
            if (arg == name) {
                set(argv[i + 1]);
                known = true;
                break;
            }
        }
        if (!known) {
            std::cerr << "unknown argument " << arg << "\n";
            return false;
        }
    }
    if (settings.gateway_binary.empty()) {
        std::cerr << usage << "\n";
        return false;
    }
    return true;
}

}  // namespace mgw::bench::hm
