// Driver of the fleet benchmark (scripts/bench) and of the platform-load benchmark
// (scripts/bench_platform). Four modes:
//
//   fleet_driver bare --ports-file FILE [--gzip] [--rounds R]
//       Fetches every (non-hung) simulator instance at once, no parsing: the floor any gateway
//       could reach on this machine, and proof that the simulator is not the bottleneck.
//       Round 1 opens the connections; later rounds reuse them, as the gateway's pool does.
//
//   fleet_driver wait-routes --gateway HOST:PORT --route ROUTE_KEY --count N [--apps A]
//       [--user U --password P] [--timeout-seconds T]
//       Polls the gateway's GET /routes until ROUTE_KEY has N endpoints (NATS registrations
//       applied and published). With --apps A, ROUTE_KEY holds "{}", replaced by 0 .. A-1, and
//       every one of those A routes must have N endpoints.
//
//   fleet_driver run --gateway HOST:PORT --path PATH --pid GATEWAY_PID [--sim-pid PID]
//       [--requests K] [--warmup W] [--gzip] [--header "Name: value"]... [--label NAME]
//       [--expect-up N]
//       K sequential requests on one keep-alive connection, like a Prometheus scrape loop.
//       Reports latency percentiles (request written to last byte read), time to first byte,
//       body bytes, the gateway's CPU seconds and minor page faults per request (utime+stime
//       and minflt from /proc/PID/stat), and its peak RSS (VmHWM from /proc/PID/status, reset
//       through /proc/PID/clear_refs after the warm-up so that the figure belongs to the measured
//       requests).
//
//   fleet_driver platform --gateway HOST:PORT --path PATH --apps A --pid GATEWAY_PID
//       [--sim-pid PID] [--interval-seconds S] [--scrape-timeout-seconds T] [--intervals K]
//       [--warmup-intervals W] [--expect-up N] [--max-cores C] [--records FILE] [--label NAME]
//       [--gzip]
//       Behaves like Prometheus scraping A apps: PATH holds "{}", replaced by the app index,
//       and every app is scraped every S seconds on its own keep-alive connection, at a phase
//       within the interval fixed by a hash of its path (Prometheus offsets each target by a
//       hash of its labels), all apps concurrently, each request carrying Prometheus' Accept
//       header, X-Prometheus-Scrape-Timeout-Seconds: T and with --gzip Accept-Encoding: gzip
//       (Prometheus' default), and abandoned after T seconds as Prometheus does. W intervals warm
//       up, the next K are measured: every measured answer's latency, status and completeness
//       (mgw_scrape_up: N up, none down), and over exactly those K intervals the gateway's CPU
//       (utime+stime, in cores), its mean and peak RSS, and the CPU of the simulator and of this
//       driver (so that neither is mistaken for the gateway's limit). "sustained=yes" when every
//       measured answer was 200, complete and within T, and the gateway averaged at most C cores.
//
// Every mode prints one "RESULT key=value ..." line for the scripts. bare, wait-routes and run
// exit non-zero when a check fails (wrong instance count, HTTP error); platform reports failed
// answers in its line (sustained=no) and exits non-zero only when it cannot run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <strings.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <mgw/compression/gzip.hpp>

#include "platform_load.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using namespace asio::experimental::awaitable_operators;
using fleet_bench::answer_complete;
using fleet_bench::answer_in_time;
using fleet_bench::judge_platform;
using fleet_bench::platform_answer;
using fleet_bench::platform_verdict;
using fleet_bench::scrape_phase_seconds;
using fleet_bench::up_counter;

// Beast reads at most a flat buffer's free capacity per receive (512 bytes when it has less),
// and the buffer does not grow while the parser consumes it: unreserved, it read a 357 MB
// answer in 688,000 receives of ~520 bytes, and the driver measured itself, not the gateway.
constexpr std::size_t read_buffer_bytes = 64 * 1024;

[[noreturn]] void usage(const std::string& why) {
    std::cerr
        << "fleet_driver: " << why << "\n"
        << "usage: fleet_driver bare --ports-file FILE [--gzip] [--rounds R]\n"
           "       fleet_driver wait-routes --gateway HOST:PORT --route KEY --count N\n"
           "           [--apps A] [--user U] [--password P] [--timeout-seconds T]\n"
           "       fleet_driver run --gateway HOST:PORT --path PATH --pid PID [--sim-pid PID]\n"
           "           [--requests K] [--warmup W] [--gzip] [--header 'Name: value']...\n"
           "           [--label NAME] [--expect-up N]\n"
           "       fleet_driver platform --gateway HOST:PORT --path 'PATH-{}' --apps A --pid PID\n"
           "           [--sim-pid PID] [--interval-seconds S] [--scrape-timeout-seconds T]\n"
           "           [--intervals K] [--warmup-intervals W] [--expect-up N] [--max-cores C]\n"
           "           [--records FILE] [--label NAME] [--gzip]\n";
    std::exit(2);
}

struct options {
    std::string mode;
    std::string ports_file;
    std::string gateway_host = "127.0.0.1";
    std::string gateway_port;
    std::string path;
    std::string route;
    std::string user;
    std::string password;
    std::string label = "run";
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t rounds = 5;
    std::size_t requests = 10;
    std::size_t warmup = 2;
    std::size_t count = 0;
    std::size_t apps = 0;
    double interval_seconds = 15;
    double scrape_timeout_seconds = 10;
    std::size_t intervals = 4;
    std::size_t warmup_intervals = 1;
    double max_cores = 1.0;
    std::string records;
    std::optional<std::size_t> expect_up;
    int pid = 0;
    int sim_pid = 0;
    unsigned timeout_seconds = 120;
    bool gzip = false;
};

options parse_options(int argc, char** argv) {
    if (argc < 2) {
        usage("missing mode");
    }
    options o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value for " + std::string(arg));
            }
            return argv[++i];
        };
        if (arg == "--ports-file") {
            o.ports_file = value();
        } else if (arg == "--gateway") {
            const std::string address = value();
            const auto colon = address.rfind(':');
            if (colon == std::string::npos) {
                usage("--gateway wants HOST:PORT");
            }
            o.gateway_host = address.substr(0, colon);
            o.gateway_port = address.substr(colon + 1);
        } else if (arg == "--path") {
            o.path = value();
        } else if (arg == "--route") {
            o.route = value();
        } else if (arg == "--user") {
            o.user = value();
        } else if (arg == "--password") {
            o.password = value();
        } else if (arg == "--label") {
            o.label = value();
        } else if (arg == "--header") {
            const std::string header = value();
            const auto colon = header.find(':');
            if (colon == std::string::npos) {
                usage("--header wants 'Name: value'");
            }
            std::string header_value = header.substr(colon + 1);
            header_value.erase(0, header_value.find_first_not_of(' '));
            o.headers.emplace_back(header.substr(0, colon), header_value);
        } else if (arg == "--rounds") {
            o.rounds = std::stoul(value());
        } else if (arg == "--requests") {
            o.requests = std::stoul(value());
        } else if (arg == "--warmup") {
            o.warmup = std::stoul(value());
        } else if (arg == "--apps") {
            o.apps = std::stoul(value());
        } else if (arg == "--interval-seconds") {
            o.interval_seconds = std::stod(value());
        } else if (arg == "--scrape-timeout-seconds") {
            o.scrape_timeout_seconds = std::stod(value());
        } else if (arg == "--intervals") {
            o.intervals = std::stoul(value());
        } else if (arg == "--warmup-intervals") {
            o.warmup_intervals = std::stoul(value());
        } else if (arg == "--max-cores") {
            o.max_cores = std::stod(value());
        } else if (arg == "--records") {
            o.records = value();
        } else if (arg == "--count") {
            o.count = std::stoul(value());
        } else if (arg == "--expect-up") {
            o.expect_up = std::stoul(value());
        } else if (arg == "--pid") {
            o.pid = std::stoi(value());
        } else if (arg == "--sim-pid") {
            o.sim_pid = std::stoi(value());
        } else if (arg == "--timeout-seconds") {
            o.timeout_seconds = static_cast<unsigned>(std::stoul(value()));
        } else if (arg == "--gzip") {
            o.gzip = true;
        } else {
            usage("unknown argument " + std::string(arg));
        }
    }
    if (o.rounds == 0 || o.rounds > 1000 || o.requests == 0 || o.requests > 100000 ||
        o.warmup > 1000 || o.timeout_seconds == 0 || o.apps > 100000 ||
        !(o.interval_seconds >= 0.1 && o.interval_seconds <= 3600) ||
        // Prometheus refuses a scrape_timeout longer than the scrape_interval.
        !(o.scrape_timeout_seconds > 0 && o.scrape_timeout_seconds <= o.interval_seconds) ||
        o.intervals == 0 || o.intervals > 10000 || o.warmup_intervals > 10000 ||
        !(o.max_cores > 0)) {
        usage("value out of range");
    }
    return o;
}

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Nearest-rank percentile of a non-empty sample.
double percentile(std::vector<double> values, double q) {
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// --- /proc ---------------------------------------------------------------------------------

// The fields of /proc/PID/stat after "pid (comm)", numbered as proc(5) numbers them (the
// state is field 3); empty when it cannot be read.
std::vector<std::string> stat_fields(int pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) {
        return {};
    }
    std::vector<std::string> fields(3);  // fields 1 and 2 (pid, comm) left empty
    std::istringstream rest(stat.substr(paren + 2));
    for (std::string field; rest >> field;) {
        fields.push_back(std::move(field));
    }
    return fields;
}

// utime + stime of a process, in seconds; -1 when it cannot be read.
double cpu_seconds(int pid) {
    const std::vector<std::string> fields = stat_fields(pid);
    if (fields.size() <= 15) {
        return -1;
    }
    const unsigned long long ticks = std::stoull(fields[14]) + std::stoull(fields[15]);
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Minor page faults of a process so far (field 10); -1 when unreadable. Counted per answer
// because faulting fresh pages in is a cost of large short-lived buffers.
double minor_faults(int pid) {
    const std::vector<std::string> fields = stat_fields(pid);
    return fields.size() <= 10 ? -1 : static_cast<double>(std::stoull(fields[10]));
}

// A "VmHWM:" style field of /proc/PID/status in MiB; -1 when absent.
double status_mib(int pid, std::string_view key) {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(key)) {
            return std::stod(line.substr(key.size())) / 1024.0;  // the kernel writes kB
        }
    }
    return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0, same user).
bool reset_peak_rss(int pid) {
    std::ofstream out(fmt::format("/proc/{}/clear_refs", pid));
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

// --- bare ------------------------------------------------------------------------------------

struct bare_connection {
    explicit bare_connection(asio::io_context& io, std::uint16_t port) : socket(io), port(port) {}
    tcp::socket socket;
    std::uint16_t port;
    asio::streambuf head{65536};
    std::size_t bytes = 0;
    bool failed = false;
};

// One GET on `c` (connecting first if needed); reads the head, then exactly Content-Length
// bytes into a scratch buffer that nobody looks at.
asio::awaitable<void> bare_fetch(bare_connection& c, bool gzip, std::vector<char>& scratch) {
    if (!c.socket.is_open()) {
        auto [ec] = co_await c.socket.async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), c.port), use_tuple);
        if (ec) {
            c.failed = true;
            co_return;
        }
        c.socket.set_option(tcp::no_delay(true));
    }
    const std::string request = fmt::format("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{}\r\n",
                                            c.port, gzip ? "Accept-Encoding: gzip\r\n" : "");
    auto [write_ec, written] =
        co_await asio::async_write(c.socket, asio::buffer(request), use_tuple);
    if (write_ec) {
        c.failed = true;
        co_return;
    }
    auto [head_ec, head_bytes] =
        co_await asio::async_read_until(c.socket, c.head, "\r\n\r\n", use_tuple);
    if (head_ec) {
        c.failed = true;
        co_return;
    }
    std::string head(static_cast<const char*>(c.head.data().data()), head_bytes);
    c.head.consume(head_bytes);
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    const auto field = head.find("\r\ncontent-length:");
    if (!head.starts_with("http/1.1 200") || field == std::string::npos) {
        c.failed = true;
        co_return;
    }
    std::size_t left = std::stoul(head.substr(field + 17));
    c.bytes += left;
    // Body bytes that arrived with the head.
    const std::size_t buffered = std::min(left, c.head.size());
    c.head.consume(buffered);
    left -= buffered;
    while (left > 0) {
        const std::size_t want = std::min(left, scratch.size());
        auto [ec, n] =
            co_await asio::async_read(c.socket, asio::buffer(scratch.data(), want), use_tuple);
        if (ec) {
            c.failed = true;
            co_return;
        }
        left -= n;
    }
}

int run_bare(const options& o) {
    std::ifstream in(o.ports_file);
    if (!in) {
        usage("cannot read --ports-file");
    }
    asio::io_context io(1);
    std::vector<std::unique_ptr<bare_connection>> connections;
    unsigned port = 0;
    int hung = 0;
    while (in >> port >> hung) {
        if (hung == 0) {
            connections.push_back(
                std::make_unique<bare_connection>(io, static_cast<std::uint16_t>(port)));
        }
    }
    if (connections.empty()) {
        usage("no instances in --ports-file");
    }
    // Single-threaded: every coroutine shares one scratch buffer, as bytes are thrown away.
    std::vector<char> scratch(256 * 1024);
    std::vector<double> rounds;
    std::size_t bytes_per_round = 0;
    for (std::size_t round = 0; round < o.rounds; ++round) {
        for (auto& c : connections) {
            c->bytes = 0;
        }
        const auto start = clock_type::now();
        for (auto& c : connections) {
            asio::co_spawn(io, bare_fetch(*c, o.gzip, scratch), asio::detached);
        }
        io.restart();
        io.run();
        rounds.push_back(seconds_since(start));
        bytes_per_round = 0;
        for (const auto& c : connections) {
            if (c->failed) {
                std::cerr << "fleet_driver: bare fetch from port " << c->port << " failed\n";
                return 1;
            }
            bytes_per_round += c->bytes;
        }
    }
    const std::vector<double> warm(rounds.begin() + 1, rounds.end());
    const double warm_median = warm.empty() ? rounds[0] : percentile(warm, 0.5);
    const double warm_min = warm.empty() ? rounds[0] : *std::min_element(warm.begin(), warm.end());
    std::cout << fmt::format(
        "RESULT label=bare{} instances={} rounds={} cold_s={:.3f} warm_p50_s={:.3f} "
        "warm_min_s={:.3f} body_mb={:.1f} gbit_s={:.1f}\n",
        o.gzip ? "-gzip" : "", connections.size(), o.rounds, rounds[0], warm_median, warm_min,
        static_cast<double>(bytes_per_round) / 1e6,
        static_cast<double>(bytes_per_round) * 8 / 1e9 / warm_median);
    return 0;
}

// --- gateway client --------------------------------------------------------------------------

std::string base64(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                alphabet[v & 63]};
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
    }
    return out;
}

// A small blocking wrapper: one connection to the gateway, reconnected when closed.
class gateway_client {
  public:
    explicit gateway_client(const options& o) : options_(o), socket_(io_) {}

    struct response {
        unsigned status = 0;
        double ttfb_s = 0;
        double total_s = 0;
        std::size_t body_bytes = 0;
        std::string content_encoding;
        std::string small_body;  // kept only when asked (JSON of /routes, error texts)
        bool ok = false;
    };

    // Streams the body through `on_chunk`; keeps it in small_body when `keep_body`.
    template <typename OnChunk>
    response get(const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers, bool keep_body,
                 OnChunk&& on_chunk) {
        response r;
        for (int attempt = 0; attempt < 2 && !r.ok; ++attempt) {
            r = response{};
            if (!socket_.is_open() && !connect()) {
                return r;
            }
            if (!exchange(target, headers, keep_body, on_chunk, r)) {
                error_code ignored;
                socket_.close(ignored);
                // A keep-alive connection closed by the server before our request is retried
                // once on a new connection; anything else is reported.
                if (r.status != 0 || r.body_bytes != 0) {
                    return r;
                }
            }
        }
        return r;
    }

  private:
    bool connect() {
        error_code ec;
        tcp::resolver resolver(io_);
        const auto endpoints = resolver.resolve(options_.gateway_host, options_.gateway_port, ec);
        if (ec) {
            return false;
        }
        asio::connect(socket_, endpoints, ec);
        if (ec) {
            return false;
        }
        socket_.set_option(tcp::no_delay(true));
        buffer_.clear();
        buffer_.reserve(read_buffer_bytes);
        return true;
    }

    template <typename OnChunk>
    bool exchange(const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers, bool keep_body,
                  OnChunk& on_chunk, response& r) {
        http::request<http::empty_body> request(http::verb::get, target, 11);
        request.set(http::field::host, options_.gateway_host + ":" + options_.gateway_port);
        request.set(http::field::user_agent, "fleet_driver");
        for (const auto& [name, value] : headers) {
            request.set(name, value);
        }
        request.keep_alive(true);
        const auto start = clock_type::now();
        error_code ec;
        http::write(socket_, request, ec);
        if (ec) {
            return false;
        }
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);
        http::read_header(socket_, buffer_, parser, ec);
        if (ec) {
            return false;
        }
        r.ttfb_s = seconds_since(start);
        r.status = parser.get().result_int();
        r.content_encoding = std::string(parser.get()[http::field::content_encoding]);
        while (!parser.is_done()) {
            parser.get().body().data = chunk_.data();
            parser.get().body().size = chunk_.size();
            http::read(socket_, buffer_, parser, ec);
            if (ec && ec != http::error::need_buffer) {
                return false;
            }
            const std::size_t got = chunk_.size() - parser.get().body().size;
            const std::string_view data(chunk_.data(), got);
            r.body_bytes += got;
            if (keep_body) {
                r.small_body.append(data);
            }
            on_chunk(data);
        }
        r.total_s = seconds_since(start);
        r.ok = true;
        if (!parser.get().keep_alive()) {
            error_code ignored;
            socket_.close(ignored);
        }
        return true;
    }

    const options& options_;
    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    std::vector<char> chunk_ = std::vector<char>(1024 * 1024);
};

// --- wait-routes -----------------------------------------------------------------------------

int run_wait_routes(const options& o) {
    if (o.route.empty() || o.count == 0) {
        usage("wait-routes needs --route and --count");
    }
    gateway_client client(o);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!o.user.empty()) {
        headers.emplace_back("Authorization", "Basic " + base64(o.user + ":" + o.password));
    }
    // One route key, or with --apps the keys of apps 0 .. A-1.
    std::vector<std::string> keys;
    if (o.apps == 0) {
        keys.push_back(o.route);
    } else {
        if (o.route.find("{}") == std::string::npos) {
            usage("wait-routes --apps needs a --route holding {}");
        }
        for (std::size_t k = 0; k < o.apps; ++k) {
            keys.push_back(fmt::format(fmt::runtime(o.route), k));
        }
    }
    const auto start = clock_type::now();
    std::size_t seen = 0;         // endpoints, summed over the routes
    std::size_t routes_full = 0;  // routes with --count endpoints
    while (seconds_since(start) < o.timeout_seconds) {
        const auto r = client.get("/routes", headers, true, [](std::string_view) {});
        if (r.ok && r.status == 200) {
            error_code ec;
            const boost::json::value routes = boost::json::parse(r.small_body, ec);
            if (!ec && routes.is_object()) {
                routes_full = 0;
                seen = 0;
                for (const std::string& key : keys) {
                    const auto* list = routes.as_object().if_contains(key);
                    const std::size_t endpoints =
                        list != nullptr && list->is_array() ? list->as_array().size() : 0;
                    seen += endpoints;
                    routes_full += endpoints >= o.count ? 1 : 0;
                }
                if (routes_full == keys.size()) {
                    if (o.apps == 0) {
                        std::cout << fmt::format(
                            "RESULT label=routes route={} endpoints={} "
                            "wait_s={:.2f}\n",
                            o.route, seen, seconds_since(start));
                    } else {
                        std::cout << fmt::format(
                            "RESULT label=routes route={} routes={} endpoints={} wait_s={:.2f}\n",
                            o.route, keys.size(), seen, seconds_since(start));
                    }
                    return 0;
                }
            }
        } else if (r.ok && r.status == 401) {
            std::cerr << "fleet_driver: /routes answered 401: give --user and --password\n";
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (o.apps == 0) {
        std::cerr << fmt::format("fleet_driver: {} has {} of {} endpoints after {} s\n", o.route,
                                 seen, o.count, o.timeout_seconds);
    } else {
        std::cerr << fmt::format("fleet_driver: {} of {} routes {} have {} endpoints after {} s\n",
                                 routes_full, keys.size(), o.route, o.count, o.timeout_seconds);
    }
    return 1;
}

// --- run -------------------------------------------------------------------------------------

int run_requests(const options& o) {
    if (o.path.empty() || o.pid == 0) {
        usage("run needs --path and --pid");
    }
    gateway_client client(o);
    auto headers = o.headers;
    if (o.gzip) {
        headers.emplace_back("Accept-Encoding", "gzip");
    }

    // One request; `verify`: count mgw_scrape_up lines (inflating first when gzip). Plain
    // bodies are always verified (a memchr per line); gzip bodies only in the warm-up, so that
    // the driver does not compete with the gateway for the CPU while it is measured.
    struct outcome {
        gateway_client::response response;
        up_counter counter;
        bool verified = false;
    };
    auto one = [&](bool warmup) {
        outcome out;
        const bool verify = warmup || !o.gzip;
        std::optional<mgw::compression::gzip_decoder> decoder;
        std::string inflated;
        bool gzip_failed = false;
        out.response = client.get(o.path, headers, false, [&](std::string_view data) {
            if (!verify || gzip_failed) {
                return;
            }
            if (!o.gzip) {
                out.counter.feed(data);
                return;
            }
            if (!decoder) {
                decoder.emplace(std::size_t{1} << 34);
            }
            inflated.clear();
            const auto status = decoder->write(data, inflated);
            gzip_failed = status == mgw::compression::gzip_status::corrupt ||
                          status == mgw::compression::gzip_status::too_large;
            out.counter.feed(inflated);
        });
        out.verified = verify && !gzip_failed;
        if (o.gzip && out.response.ok && out.response.content_encoding != "gzip") {
            std::cerr << "fleet_driver: asked for gzip, got Content-Encoding '"
                      << out.response.content_encoding << "'\n";
            out.verified = false;
            out.response.ok = false;
        }
        return out;
    };
    auto check = [&](const outcome& out, std::string_view what) {
        if (!out.response.ok || out.response.status != 200) {
            std::cerr << fmt::format("fleet_driver: {} request failed (status {})\n", what,
                                     out.response.status);
            return false;
        }
        if (out.verified && o.expect_up && out.counter.up() != *o.expect_up) {
            std::cerr << fmt::format(
                "fleet_driver: {} request: {} instances up, {} down; "
                "expected {} up\n",
                what, out.counter.up(), out.counter.down(), *o.expect_up);
            return false;
        }
        return true;
    };

    std::vector<double> warmup_latencies;
    std::size_t warm_up = 0;
    std::size_t warm_down = 0;
    for (std::size_t i = 0; i < o.warmup; ++i) {
        const outcome out = one(true);
        if (!check(out, "warm-up")) {
            return 1;
        }
        warmup_latencies.push_back(out.response.total_s);
        warm_up = out.counter.up();
        warm_down = out.counter.down();
    }
    const double peak_warmup_mib = status_mib(o.pid, "VmHWM:");
    const bool reset = reset_peak_rss(o.pid);

    std::vector<double> latencies;
    std::vector<double> ttfbs;
    std::size_t body_bytes = 0;
    std::size_t up = warm_up;
    std::size_t down = warm_down;
    const double cpu_start = cpu_seconds(o.pid);
    const double faults_start = minor_faults(o.pid);
    const double sim_cpu_start = o.sim_pid != 0 ? cpu_seconds(o.sim_pid) : 0;
    for (std::size_t i = 0; i < o.requests; ++i) {
        const outcome out = one(false);
        if (!check(out, "measured")) {
            return 1;
        }
        latencies.push_back(out.response.total_s);
        ttfbs.push_back(out.response.ttfb_s);
        body_bytes = out.response.body_bytes;
        if (out.verified) {
            up = out.counter.up();
            down = out.counter.down();
        }
    }
    // With X-Prometheus-Scrape-Timeout-Seconds, how many answers were complete before the
    // client would have given up.
    std::string timeout_report;
    for (const auto& [name, value] : o.headers) {
        if (strcasecmp(name.c_str(), "X-Prometheus-Scrape-Timeout-Seconds") == 0) {
            const double limit = std::stod(value);
            const auto in_time = std::count_if(latencies.begin(), latencies.end(),
                                               [&](double latency) { return latency <= limit; });
            timeout_report =
                fmt::format(" client_timeout_s={} in_time={}/{}", value, in_time, latencies.size());
        }
    }
    const double cpu = cpu_seconds(o.pid) - cpu_start;
    const double faults = minor_faults(o.pid) - faults_start;
    const double sim_cpu = o.sim_pid != 0 ? cpu_seconds(o.sim_pid) - sim_cpu_start : 0;
    const double requests = static_cast<double>(o.requests);

    std::cout << fmt::format(
        "RESULT label={} requests={} p50_s={:.3f} p90_s={:.3f} max_s={:.3f} ttfb_p50_s={:.3f} "
        "cold_s={:.3f} body_mb={:.1f} cpu_s_per_req={:.3f} sim_cpu_s_per_req={:.3f} "
        "minflt_per_req={:.0f} peak_rss_mib={:.0f} peak_rss_warmup_mib={:.0f} rss_after_mib={:.0f} "
        "up={} down={}"
        "{}{}\n",
        o.label, o.requests, percentile(latencies, 0.5), percentile(latencies, 0.9),
        *std::max_element(latencies.begin(), latencies.end()), percentile(ttfbs, 0.5),
        warmup_latencies.empty() ? 0.0 : warmup_latencies.front(),
        static_cast<double>(body_bytes) / 1e6, cpu / requests, sim_cpu / requests,
        faults / requests, status_mib(o.pid, "VmHWM:"), peak_warmup_mib,
        status_mib(o.pid, "VmRSS:"), up, down, timeout_report,
        reset ? "" : " peak_rss_reset=failed");
    return 0;
}

// --- platform --------------------------------------------------------------------------------

struct platform_run {
    const options& o;
    tcp::endpoint gateway;
    clock_type::time_point start;
    std::size_t rounds = 0;  // warm-up + measured intervals
    std::vector<platform_answer> answers;
};

// Prometheus' request (v2.x defaults: OpenMetrics preferred, gzip accepted) for `target`.
std::string prometheus_request(const options& o, std::string_view target) {
    return fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: Prometheus/2.53.0 (fleet_driver)\r\n"
        "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n{}"
        "X-Prometheus-Scrape-Timeout-Seconds: {}\r\n\r\n",
        target, o.gateway_host, o.gateway_port, o.gzip ? "Accept-Encoding: gzip\r\n" : "",
        o.scrape_timeout_seconds);
}

// The state one target keeps between scrapes, like a Prometheus scrape loop: its kept-alive
// connection and buffers.
struct platform_target {
    explicit platform_target(asio::any_io_executor executor) : socket(executor) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::vector<char> chunk = std::vector<char>(64 * 1024);
};

// One scrape on `t`: connects when needed, and retries once on a fresh connection when a
// kept-alive one turns out closed by the gateway before any answer byte.
asio::awaitable<void> platform_scrape(const platform_run& run, platform_target& t,
                                      const std::string& request, platform_answer& a) {
    // Abandoned at the timeout, the read fails and this returns: never throw for that.
    co_await asio::this_coro::throw_if_cancelled(false);
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = t.socket.is_open();
        if (!reused) {
            auto [ec] = co_await t.socket.async_connect(run.gateway, use_tuple);
            if (ec) {
                a.error = "connect: " + ec.message();
                co_return;
            }
            t.socket.set_option(tcp::no_delay(true));
            t.buffer.clear();
            t.buffer.reserve(read_buffer_bytes);
        }
        auto [write_ec, written] =
            co_await asio::async_write(t.socket, asio::buffer(request), use_tuple);
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);
        error_code ec = write_ec;
        if (!ec) {
            std::tie(ec, std::ignore) =
                co_await http::async_read_header(t.socket, t.buffer, parser, use_tuple);
        }
        if (ec) {
            error_code ignored;
            t.socket.close(ignored);
            if (reused && !a.timed_out && ec != asio::error::operation_aborted) {
                continue;  // the gateway closed an idle connection: Prometheus retries too
            }
            a.error = "request: " + ec.message();
            co_return;
        }
        a.status = parser.get().result_int();
        const bool gzip = parser.get()[http::field::content_encoding] == "gzip";
        std::optional<mgw::compression::gzip_decoder> decoder;
        if (gzip) {
            decoder.emplace(std::size_t{1} << 34);
        }
        up_counter counter;
        std::string inflated;
        while (!parser.is_done()) {
            parser.get().body().data = t.chunk.data();
            parser.get().body().size = t.chunk.size();
            auto [read_ec, n] = co_await http::async_read(t.socket, t.buffer, parser, use_tuple);
            if (read_ec && read_ec != http::error::need_buffer) {
                error_code ignored;
                t.socket.close(ignored);
                a.error = "body: " + read_ec.message();
                co_return;
            }
            const std::string_view data(t.chunk.data(), t.chunk.size() - parser.get().body().size);
            a.wire_bytes += data.size();
            if (!decoder) {
                a.decoded_bytes += data.size();
                counter.feed(data);
                continue;
            }
            inflated.clear();
            const auto status = decoder->write(data, inflated);
            if (status == mgw::compression::gzip_status::corrupt ||
                status == mgw::compression::gzip_status::too_large) {
                error_code ignored;
                t.socket.close(ignored);
                a.error = "gzip: corrupt answer";
                co_return;
            }
            a.decoded_bytes += inflated.size();
            counter.feed(inflated);
        }
        a.up = counter.up();
        a.down = counter.down();
        a.finished = true;
        if (!parser.get().keep_alive()) {
            error_code ignored;
            t.socket.close(ignored);
        }
        co_return;
    }
    a.error = "request: connection closed twice";
}

// Closes the target's connection when the scrape timeout elapses (Prometheus cancels the
// request's context), which ends any read in flight whatever it is waiting for.
asio::awaitable<void> abandon_at(asio::steady_timer& timer, tcp::socket& socket,
                                 platform_answer& a) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (!ec) {
        a.timed_out = true;
        error_code ignored;
        socket.close(ignored);
    }
}

// The scrape loop of app `app`: every interval at its phase, until the run's rounds are done.
asio::awaitable<void> platform_scrape_loop(platform_run& run, std::size_t app) {
    const auto executor = co_await asio::this_coro::executor;
    const std::string target = fmt::format(fmt::runtime(run.o.path), app);
    const std::string request = prometheus_request(run.o, target);
    const double phase = scrape_phase_seconds(target, run.o.interval_seconds);
    const auto to_duration = [](double seconds) {
        return std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>(seconds));
    };
    platform_target t(executor);
    asio::steady_timer wake(executor);
    asio::steady_timer deadline(executor);
    for (std::size_t round = 0; round < run.rounds; ++round) {
        platform_answer a;
        a.app = app;
        a.round = round;
        a.measured = round >= run.o.warmup_intervals;
        a.scheduled_s = phase + static_cast<double>(round) * run.o.interval_seconds;
        wake.expires_at(run.start + to_duration(a.scheduled_s));
        co_await wake.async_wait(use_tuple);
        const auto started = clock_type::now();
        a.start_lag_s = std::max(
            0.0, std::chrono::duration<double>(started - run.start).count() - a.scheduled_s);
        deadline.expires_at(started + to_duration(run.o.scrape_timeout_seconds));
        co_await (platform_scrape(run, t, request, a) || abandon_at(deadline, t.socket, a));
        a.latency_s = seconds_since(started);
        if (a.timed_out) {
            a.finished = false;
            a.error = "timeout";
        }
        run.answers.push_back(std::move(a));
    }
    error_code ignored;
    t.socket.close(ignored);
}

// What the processes spent over the measured intervals, sampled on the same clock as the
// scrapes: CPU at each interval boundary, RSS every tick.
struct platform_usage {
    double wall_s = 0;
    double gateway_cpu_s = -1;
    double gateway_max_interval_cores = 0;
    double sim_cpu_s = 0;
    double driver_cpu_s = 0;
    double rss_sum_mib = 0;
    std::size_t rss_samples = 0;
    double rss_max_mib = 0;
    bool peak_reset = false;
};

asio::awaitable<void> platform_sample(platform_run& run, platform_usage& usage) {
    const options& o = run.o;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto ticks_per_interval =
        static_cast<std::size_t>(std::max(1.0, std::ceil(o.interval_seconds / 0.5)));
    const double tick_s = o.interval_seconds / static_cast<double>(ticks_per_interval);
    const double window_start_s = static_cast<double>(o.warmup_intervals) * o.interval_seconds;
    const std::size_t ticks = ticks_per_interval * o.intervals;
    double gateway_first = 0;
    double gateway_last = 0;
    double sim_first = 0;
    double driver_first = 0;
    auto last_boundary = clock_type::now();
    auto first_boundary = last_boundary;
    for (std::size_t tick = 0; tick <= ticks; ++tick) {
        timer.expires_at(run.start + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(
                                             window_start_s + static_cast<double>(tick) * tick_s)));
        co_await timer.async_wait(use_tuple);
        if (tick % ticks_per_interval == 0) {
            const auto now = clock_type::now();
            const double gateway = cpu_seconds(o.pid);
            if (tick == 0) {
                first_boundary = now;
                gateway_first = gateway;
                sim_first = o.sim_pid != 0 ? cpu_seconds(o.sim_pid) : 0;
                driver_first = cpu_seconds(static_cast<int>(getpid()));
                usage.peak_reset = reset_peak_rss(o.pid);
            } else {
                const double wall = std::chrono::duration<double>(now - last_boundary).count();
                if (wall > 0) {
                    usage.gateway_max_interval_cores =
                        std::max(usage.gateway_max_interval_cores, (gateway - gateway_last) / wall);
                }
            }
            if (tick == ticks) {
                usage.wall_s = std::chrono::duration<double>(now - first_boundary).count();
                usage.gateway_cpu_s = gateway - gateway_first;
                usage.sim_cpu_s = o.sim_pid != 0 ? cpu_seconds(o.sim_pid) - sim_first : 0;
                usage.driver_cpu_s = cpu_seconds(static_cast<int>(getpid())) - driver_first;
            }
            gateway_last = gateway;
            last_boundary = now;
        }
        const double rss = status_mib(o.pid, "VmRSS:");
        if (rss >= 0) {
            usage.rss_sum_mib += rss;
            ++usage.rss_samples;
            usage.rss_max_mib = std::max(usage.rss_max_mib, rss);
        }
    }
}

int run_platform(const options& o) {
    if (o.path.find("{}") == std::string::npos || o.apps == 0 || o.pid == 0) {
        usage("platform needs --path holding {}, --apps and --pid");
    }
    asio::io_context io(1);
    error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(o.gateway_host, o.gateway_port, ec);
    if (ec || endpoints.empty()) {
        std::cerr << "fleet_driver: cannot resolve the gateway: " << ec.message() << "\n";
        return 1;
    }
    platform_run run{o, endpoints.begin()->endpoint(), {}, o.warmup_intervals + o.intervals, {}};
    run.answers.reserve(o.apps * run.rounds);
    // A short lead so that every loop is waiting before the first phase comes.
    run.start = clock_type::now() + std::chrono::milliseconds(200);
    platform_usage usage;
    for (std::size_t app = 0; app < o.apps; ++app) {
        asio::co_spawn(io, platform_scrape_loop(run, app), asio::detached);
    }
    asio::co_spawn(io, platform_sample(run, usage), asio::detached);
    io.run();

    const double gateway_cores = usage.wall_s > 0 ? usage.gateway_cpu_s / usage.wall_s : -1;
    const platform_verdict v = judge_platform(run.answers, o.expect_up, o.scrape_timeout_seconds,
                                              gateway_cores, o.max_cores);
    std::vector<double> latencies;
    double max_lag = 0;
    double wire_bytes = 0;
    double decoded_bytes = 0;
    std::size_t first_error = run.answers.size();
    for (std::size_t i = 0; i < run.answers.size(); ++i) {
        const platform_answer& a = run.answers[i];
        if (!a.measured) {
            continue;
        }
        latencies.push_back(a.latency_s);
        max_lag = std::max(max_lag, a.start_lag_s);
        wire_bytes += static_cast<double>(a.wire_bytes);
        decoded_bytes += static_cast<double>(a.decoded_bytes);
        if (first_error == run.answers.size() &&
            (!answer_complete(a, o.expect_up) || !answer_in_time(a, o.scrape_timeout_seconds))) {
            first_error = i;
        }
    }
    if (!o.records.empty()) {
        std::ofstream out(o.records, std::ios::trunc);
        out << "app\tround\tmeasured\tscheduled_s\tstart_lag_s\tlatency_s\tstatus\tup\tdown\t"
               "wire_bytes\tdecoded_bytes\tcomplete\tin_time\terror\n";
        for (const platform_answer& a : run.answers) {
            out << fmt::format(
                "{}\t{}\t{}\t{:.3f}\t{:.4f}\t{:.4f}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", a.app,
                a.round, a.measured ? 1 : 0, a.scheduled_s, a.start_lag_s, a.latency_s, a.status,
                a.up, a.down, a.wire_bytes, a.decoded_bytes,
                answer_complete(a, o.expect_up) ? 1 : 0,
                answer_in_time(a, o.scrape_timeout_seconds) ? 1 : 0,
                a.error.empty() ? "-" : a.error);
        }
    }
    if (first_error != run.answers.size()) {
        const platform_answer& a = run.answers[first_error];
        std::cerr << fmt::format(
            "fleet_driver: first failed answer: app {} round {}: status {}, {} up, {} down, "
            "{:.3f} s{}\n",
            a.app, a.round, a.status, a.up, a.down, a.latency_s,
            a.error.empty() ? "" : ", " + a.error);
    }
    const double measured = static_cast<double>(std::max<std::size_t>(v.measured, 1));
    const double wall = std::max(usage.wall_s, 1e-9);
    std::cout << fmt::format(
        "RESULT label={} apps={} instances_per_app={} interval_s={} scrape_timeout_s={} "
        "intervals={} answers={} complete={} in_time={} timed_out={} errors={} p50_s={:.3f} "
        "p90_s={:.3f} p99_s={:.3f} max_s={:.3f} wire_mb_per_answer={:.3f} "
        "decoded_mb_per_answer={:.3f} gateway_cores={:.3f} gateway_max_interval_cores={:.3f} "
        "sim_cores={:.3f} driver_cores={:.3f} max_start_lag_s={:.3f} rss_mean_mib={:.0f} "
        "peak_rss_mib={:.0f} measured_s={:.1f} max_cores={} sustained={}{}\n",
        o.label, o.apps, o.expect_up ? fmt::format("{}", *o.expect_up) : std::string("-"),
        o.interval_seconds, o.scrape_timeout_seconds, o.intervals, v.measured, v.complete,
        v.in_time, v.timed_out, v.errors, latencies.empty() ? 0.0 : percentile(latencies, 0.5),
        latencies.empty() ? 0.0 : percentile(latencies, 0.9),
        latencies.empty() ? 0.0 : percentile(latencies, 0.99),
        latencies.empty() ? 0.0 : *std::max_element(latencies.begin(), latencies.end()),
        wire_bytes / measured / 1e6, decoded_bytes / measured / 1e6, gateway_cores,
        usage.gateway_max_interval_cores, usage.sim_cpu_s / wall, usage.driver_cpu_s / wall,
        max_lag,
        usage.rss_samples > 0 ? usage.rss_sum_mib / static_cast<double>(usage.rss_samples) : 0.0,
        status_mib(o.pid, "VmHWM:"), usage.wall_s, o.max_cores, v.sustained ? "yes" : "no",
        usage.peak_reset ? "" : " peak_rss_reset=failed");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv);
    if (o.mode == "bare") {
        return run_bare(o);
    }
    if (o.mode == "wait-routes") {
        return run_wait_routes(o);
    }
    if (o.mode == "run") {
        return run_requests(o);
    }
    if (o.mode == "platform") {
        return run_platform(o);
    }
    usage("unknown mode " + o.mode);
}
