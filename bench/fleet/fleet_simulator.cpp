// Fleet simulator for the app-metrics benchmark: one process serving N app instances on
// loopback (one listener each), every instance answering GET with a pre-rendered exposition of
// S realistic series, and every instance registered over NATS as gorouter's route-emitter does.
// With --apps A it serves a whole platform instead (the platform-load benchmark,
// scripts/bench_platform): A apps named <app>-0 .. <app>-(A-1), each with N instances and its
// own route, app GUID and names, so the gateway sees A distinct apps as it would on a real
// foundation.
//
// The simulator must never be the bottleneck of what it measures: responses (status line,
// headers and body) are rendered once at start-up and written with a single zero-copy
// async_write per request, on keep-alive connections. Instances picked as "hung" accept and read
// requests but never answer, like an app stuck in a GC pause or a deadlock.
//
// NATS is spoken directly (the text protocol is four verbs): CONNECT, SUB router.start, PUB of
// every router.register, PONG. Registrations are re-published every --register-interval and
// immediately whenever a router announces itself with router.start, like route-emitter.
//
// When everything is listening and the first registrations are flushed, the ports are written
// to --ports-file ("<port> <hung 0|1>" per line), atomically (rename), as the readiness signal.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <mgw/compression/gzip.hpp>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct options {
    std::size_t apps = 1;  // > 1: apps <app>-0 .. <app>-(apps-1), `instances` each
    std::size_t instances = 1000;
    std::size_t series = 1000;
    std::size_t variants = 0;  // 0: every instance has its own body
    double hung_fraction = 0.0;
    bool gzip_bodies = false;  // answer Accept-Encoding: gzip with a gzip body
    std::string nats_url;      // nats://127.0.0.1:4222; empty: no registration
    std::string org = "bench-org";
    std::string space = "bench-space";
    std::string app = "fleet";
    std::string ports_file;
    std::chrono::seconds register_interval{20};
    unsigned threads = 1;
    std::size_t max_connections_per_instance = 16;
};

[[noreturn]] void usage(const char* why) {
    std::cerr << "fleet_simulator: " << why << "\n"
              << "usage: fleet_simulator [--apps A] [--instances N] [--series S] [--variants V]\n"
                 "  [--hung-fraction F] [--gzip-bodies] [--nats nats://127.0.0.1:4222]\n"
                 "  [--org O] [--space S] [--app A] [--ports-file FILE]\n"
                 "  [--register-interval SECONDS] [--threads T]\n";
    std::exit(2);
}

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value");
            }
            return argv[++i];
        };
        if (arg == "--apps") {
            o.apps = std::stoul(value());
        } else if (arg == "--instances") {
            o.instances = std::stoul(value());
        } else if (arg == "--series") {
            o.series = std::stoul(value());
        } else if (arg == "--variants") {
            o.variants = std::stoul(value());
        } else if (arg == "--hung-fraction") {
            o.hung_fraction = std::stod(value());
        } else if (arg == "--gzip-bodies") {
            o.gzip_bodies = true;
        } else if (arg == "--nats") {
            o.nats_url = value();
        } else if (arg == "--org") {
            o.org = value();
        } else if (arg == "--space") {
            o.space = value();
        } else if (arg == "--app") {
            o.app = value();
        } else if (arg == "--ports-file") {
            o.ports_file = value();
        } else if (arg == "--register-interval") {
            o.register_interval = std::chrono::seconds(std::stoul(value()));
        } else if (arg == "--threads") {
            o.threads = static_cast<unsigned>(std::stoul(value()));
        } else {
            usage("unknown argument");
        }
    }
    // 20,000 listeners at most, with their connections: the file descriptors of one process.
    if (o.apps == 0 || o.apps > 20000 || o.instances == 0 || o.instances > 20000 ||
        o.apps * o.instances > 20000 || o.series == 0 || o.series > 1000000 ||
        o.hung_fraction < 0 || o.hung_fraction > 1 || o.threads == 0 || o.threads > 64 ||
        o.register_interval.count() == 0) {
        usage("value out of range");
    }
    return o;
}

// --- bodies --------------------------------------------------------------------------------

// xorshift64*: deterministic per instance, so a run is reproducible.
struct rng {
    std::uint64_t state;
    std::uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DULL;
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

constexpr std::array<std::string_view, 4> methods = {"GET", "POST", "PUT", "DELETE"};
constexpr std::array<std::string_view, 12> uris = {
    "/orders",   "/orders/{id}", "/customers", "/customers/{id}", "/products", "/cart",
    "/checkout", "/payments",    "/health",    "/v2/search",      "/v2/stock", "/login"};
constexpr std::array<std::string_view, 5> statuses = {"200", "201", "400", "404", "500"};
constexpr std::array<double, 11> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10};
constexpr std::array<std::string_view, 6> tables = {"orders",   "customers", "products",
                                                    "payments", "sessions",  "inventory"};
constexpr std::array<std::string_view, 4> operations = {"select", "insert", "update", "delete"};
constexpr std::array<std::string_view, 6> memory_ids = {
    "G1 Eden Space", "G1 Old Gen", "G1 Survivor Space",
    "Metaspace",     "CodeCache",  "Compressed Class Space"};

// One family of the exposition: HELP/TYPE once, then series produced by `emit` for label-set
// index k (a histogram label set yields 14 series).
struct family_writer {
    std::string& out;
    rng& random;

    void header(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
    }

    // Counter, three labels: http_requests_total{method="GET",uri="/orders",status="200"} 17
    void http_requests(std::size_t k) {
        fmt::format_to(std::back_inserter(out),
                       "http_requests_total{{method=\"{}\",uri=\"{}\",status=\"{}\"}} {}\n",
                       methods[k % methods.size()], uris[(k / methods.size()) % uris.size()],
                       statuses[(k / (methods.size() * uris.size())) % statuses.size()],
                       random.below(5'000'000));
    }

    // Histogram with 11 buckets + Inf, _sum and _count (14 series), two labels.
    std::size_t http_duration(std::size_t k, std::size_t budget) {
        const auto method = methods[k % methods.size()];
        const auto uri = uris[(k / methods.size()) % uris.size()];
        const std::size_t variant = k / (methods.size() * uris.size());
        std::uint64_t cumulative = random.below(1000);
        std::size_t written = 0;
        for (const double le : buckets) {
            if (written == budget) {
                return written;
            }
            cumulative += random.below(20000);
            fmt::format_to(std::back_inserter(out),
                           "http_server_requests_seconds_bucket{{method=\"{}\",uri=\"{}{}\","
                           "le=\"{}\"}} {}\n",
                           method, uri, variant == 0 ? "" : fmt::format("/{}", variant), le,
                           cumulative);
            ++written;
        }
        const std::string_view suffixes[] = {"bucket", "sum", "count"};
        for (const std::string_view suffix : suffixes) {
            if (written == budget) {
                return written;
            }
            const std::string le = suffix == "bucket" ? ",le=\"+Inf\"" : "";
            if (suffix == "sum") {
                fmt::format_to(std::back_inserter(out),
                               "http_server_requests_seconds_sum{{method=\"{}\",uri=\"{}{}\"}} "
                               "{:.3f}\n",
                               method, uri, variant == 0 ? "" : fmt::format("/{}", variant),
                               static_cast<double>(cumulative) * random.unit());
            } else {
                fmt::format_to(std::back_inserter(out),
                               "http_server_requests_seconds_{}{{method=\"{}\",uri=\"{}{}\"{}}} "
                               "{}\n",
                               suffix, method, uri, variant == 0 ? "" : fmt::format("/{}", variant),
                               le, cumulative);
            }
            ++written;
        }
        return written;
    }

    // Gauge, three labels: jvm_memory_used_bytes{area="heap",id="G1 Eden Space",pool="3"} 1.2e+08
    void jvm_memory(std::size_t k) {
        fmt::format_to(std::back_inserter(out),
                       "jvm_memory_used_bytes{{area=\"{}\",id=\"{}\",pool=\"p{}\"}} {:.6g}\n",
                       k % 2 == 0 ? "heap" : "nonheap", memory_ids[k % memory_ids.size()], k,
                       random.unit() * 5e8);
    }

    // Counter, four labels: db client queries.
    void db_queries(std::size_t k) {
        fmt::format_to(std::back_inserter(out),
                       "db_queries_total{{db=\"main\",operation=\"{}\",table=\"{}\","
                       "shard=\"{}\"}} {}\n",
                       operations[k % operations.size()],
                       tables[(k / operations.size()) % tables.size()],
                       k / (operations.size() * tables.size()), random.below(900'000));
    }

    // Gauge, two labels.
    void queue_depth(std::size_t k) {
        fmt::format_to(std::back_inserter(out),
                       "app_queue_messages_ready{{queue=\"orders-{}\",vhost=\"/prod\"}} {}\n", k,
                       random.below(10'000));
    }
};

// The exposition of one instance: S series over five families, about 78 bytes per series
// (HELP/TYPE lines included), in the proportions of a typical Spring Boot / Micrometer app:
// histograms dominate.
std::string render_body(std::size_t series, std::uint64_t seed) {
    rng random{seed * 0x9E3779B97F4A7C15ULL + 1};
    std::string out;
    out.reserve(series * 90 + 4096);
    family_writer w{out, random};

    // Whole histograms only (14 series each): a body cut inside one is an invalid exposition,
    // which the gateway's reader repairs at a cost real bodies do not have.
    const std::size_t histogram_series = series * 55 / 100 / 14 * 14;
    const std::size_t counter_series = series * 20 / 100;
    const std::size_t db_series = series * 12 / 100;
    const std::size_t jvm_series = series * 8 / 100;
    const std::size_t queue_series =
        series - histogram_series - counter_series - db_series - jvm_series;

    if (histogram_series > 0) {
        w.header("http_server_requests_seconds", "histogram", "Duration of HTTP server requests.");
        std::size_t left = histogram_series;
        for (std::size_t k = 0; left > 0; ++k) {
            left -= w.http_duration(k, left);
        }
    }
    if (counter_series > 0) {
        w.header("http_requests_total", "counter", "HTTP server requests.");
        for (std::size_t k = 0; k < counter_series; ++k) {
            w.http_requests(k);
        }
    }
    if (db_series > 0) {
        w.header("db_queries_total", "counter", "Database queries executed.");
        for (std::size_t k = 0; k < db_series; ++k) {
            w.db_queries(k);
        }
    }
    if (jvm_series > 0) {
        w.header("jvm_memory_used_bytes", "gauge", "The amount of used memory.");
        for (std::size_t k = 0; k < jvm_series; ++k) {
            w.jvm_memory(k);
        }
    }
    if (queue_series > 0) {
        w.header("app_queue_messages_ready", "gauge", "Messages ready for delivery.");
        for (std::size_t k = 0; k < queue_series; ++k) {
            w.queue_depth(k);
        }
    }
    return out;
}

std::string render_response(std::string_view body, bool gzip) {
    std::string response = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        "{}Content-Length: {}\r\n\r\n",
        gzip ? "Content-Encoding: gzip\r\n" : "", body.size());
    response.append(body);
    return response;
}

// --- instances -----------------------------------------------------------------------------

struct instance {
    std::size_t app = 0;    // index into the app identities
    std::size_t index = 0;  // within its app (private_instance_index)
    bool hung = false;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::uint16_t port = 0;
    const std::string* plain = nullptr;  // full pre-rendered response
    const std::string* gzip = nullptr;   // same, gzip-encoded body; null: plain only
    std::atomic<std::size_t> open_connections{0};
};

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const auto a = static_cast<unsigned char>(text[i]);
        const auto b = static_cast<unsigned char>(prefix[i]);
        if (std::tolower(a) != std::tolower(b)) {
            return false;
        }
    }
    return true;
}

// What the simulator needs from a request head: whether gzip is acceptable and whether the
// client wants the connection closed.
struct request_head {
    bool accepts_gzip = false;
    bool close = false;
};

request_head inspect(std::string_view head) {
    request_head r;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (iequals_prefix(line, "accept-encoding:")) {
            r.accepts_gzip = line.find("gzip") != std::string_view::npos;
        } else if (iequals_prefix(line, "connection:")) {
            r.close = line.find("close") != std::string_view::npos;
        }
        pos = end;
    }
    return r;
}

constexpr std::size_t max_request_head = 16384;

asio::awaitable<void> serve_connection(tcp::socket socket, instance& inst) {
    ++inst.open_connections;
    asio::streambuf buffer(max_request_head);
    for (;;) {
        auto [ec, n] = co_await asio::async_read_until(socket, buffer, "\r\n\r\n", use_tuple);
        if (ec) {
            break;  // peer closed, or a head larger than max_request_head
        }
        const std::string_view head(static_cast<const char*>(buffer.data().data()), n);
        const request_head request = inspect(head);
        buffer.consume(n);
        if (inst.hung) {
            continue;  // read on (so a close is noticed), never answer
        }
        const std::string& response =
            request.accepts_gzip && inst.gzip != nullptr ? *inst.gzip : *inst.plain;
        auto [write_ec, written] =
            co_await asio::async_write(socket, asio::buffer(response), use_tuple);
        if (write_ec || request.close) {
            break;
        }
    }
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    --inst.open_connections;
}

asio::awaitable<void> accept_loop(instance& inst, std::size_t max_connections) {
    for (;;) {
        auto [ec, socket] = co_await inst.acceptor->async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || !inst.acceptor->is_open()) {
            co_return;
        }
        if (ec) {
            // EMFILE and the like: back off instead of spinning.
            asio::steady_timer pause(co_await asio::this_coro::executor,
                                     std::chrono::milliseconds(50));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (inst.open_connections >= max_connections) {
            continue;  // the socket closes as it goes out of scope
        }
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(socket.get_executor(), serve_connection(std::move(socket), inst),
                       asio::detached);
    }
}

// --- NATS registration ----------------------------------------------------------------------

// A GUID-shaped id derived from a name, stable across runs.
std::string guid(std::string_view name, std::uint64_t salt) {
    std::uint64_t h = 1469598103934665603ULL ^ salt;
    for (const char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    rng r{h | 1};
    const std::uint64_t a = r.next();
    const std::uint64_t b = r.next();
    return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                       a & 0xfff, (b >> 48) & 0xfff, b & 0xffffffffffffULL);
}

std::string json_escaped(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

// What tells one app from another in its registrations; derived from the name, stable across
// runs.
struct app_identity {
    std::string name;
    std::string app_id;
    std::string process_id;
};

app_identity make_app_identity(std::string name) {
    app_identity identity{std::move(name), {}, {}};
    identity.app_id = guid(identity.name, 1);
    identity.process_id = guid(identity.name, 4);
    return identity;
}

// The app names served: `--app` alone, or `--app`-0 .. -(apps-1) with --apps.
std::vector<app_identity> app_identities(const options& o) {
    std::vector<app_identity> apps;
    apps.reserve(o.apps);
    for (std::size_t k = 0; k < o.apps; ++k) {
        apps.push_back(make_app_identity(o.apps == 1 ? o.app : fmt::format("{}-{}", o.app, k)));
    }
    return apps;
}

// route-emitter's router.register for instance `index` of `app` (route-emitter's message).
std::string register_message(const options& o, const app_identity& app, std::size_t index,
                             std::uint16_t port) {
    const std::string& app_id = app.app_id;
    const std::string org_id = guid(o.org, 2);
    const std::string space_id = guid(o.space, 3);
    const std::string& process_id = app.process_id;
    const std::string instance_guid = guid(fmt::format("{}/{}", app.name, index), 5);
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return fmt::format(
        R"({{"host":"127.0.0.1","port":{port},"uris":["{app}.apps.bench.internal"],)"
        R"("app":"{app_id}","private_instance_id":"{inst}","private_instance_index":"{index}",)"
        R"("server_cert_domain_san":"{inst}","protocol":"http1","availability_zone":"z1",)"
        R"("endpoint_updated_at_ns":{now},"tags":{{"component":"route-emitter",)"
        R"("app_id":"{app_id}","app_name":"{app}","space_id":"{space_id}",)"
        R"("space_name":"{space}","organization_id":"{org_id}","organization_name":"{org}",)"
        R"("process_id":"{process_id}","process_type":"web","process_instance_id":"{inst}",)"
        R"("instance_id":"{index}","source_id":"{app_id}"}},)"
        R"("options":{{"loadbalancing":"round-robin"}}}})",
        fmt::arg("port", port), fmt::arg("app", json_escaped(app.name)), fmt::arg("app_id", app_id),
        fmt::arg("inst", instance_guid), fmt::arg("index", index), fmt::arg("now", now_ns),
        fmt::arg("space_id", space_id), fmt::arg("space", json_escaped(o.space)),
        fmt::arg("org_id", org_id), fmt::arg("org", json_escaped(o.org)),
        fmt::arg("process_id", process_id));
}

struct nats_address {
    std::string host;
    std::string port;
};

nats_address parse_nats_url(std::string_view url) {
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
        url.remove_prefix(scheme + 3);
    }
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos) {
        return {std::string(url), "4222"};
    }
    return {std::string(url.substr(0, colon)), std::string(url.substr(colon + 1))};
}

class registrar {
  public:
    registrar(asio::any_io_executor executor, const options& o,
              const std::vector<app_identity>& apps, std::vector<instance>& instances)
        : socket_(executor), timer_(executor), options_(o), apps_(apps), instances_(instances) {}

    // Connects, subscribes router.start and publishes every registration once.
    asio::awaitable<error_code> start() {
        const nats_address address = parse_nats_url(options_.nats_url);
        tcp::resolver resolver(socket_.get_executor());
        auto [resolve_ec, endpoints] =
            co_await resolver.async_resolve(address.host, address.port, use_tuple);
        if (resolve_ec) {
            co_return resolve_ec;
        }
        auto [connect_ec, connected] = co_await asio::async_connect(socket_, endpoints, use_tuple);
        if (connect_ec) {
            co_return connect_ec;
        }
        auto [info_ec, n] = co_await asio::async_read_until(socket_, input_, "\r\n", use_tuple);
        if (info_ec) {
            co_return info_ec;
        }
        input_.consume(n);  // INFO {...}: nothing in it changes what we send
        std::string hello =
            R"(CONNECT {"verbose":false,"pedantic":false,"name":"fleet-simulator","lang":"cpp","version":"1"})"
            "\r\nSUB router.start 1\r\nPING\r\n";
        auto [write_ec, written] =
            co_await asio::async_write(socket_, asio::buffer(hello), use_tuple);
        if (write_ec) {
            co_return write_ec;
        }
        // The PONG to our PING confirms CONNECT and SUB were accepted.
        for (;;) {
            auto [ec, line_bytes] =
                co_await asio::async_read_until(socket_, input_, "\r\n", use_tuple);
            if (ec) {
                co_return ec;
            }
            const std::string line(static_cast<const char*>(input_.data().data()), line_bytes);
            input_.consume(line_bytes);
            if (line.starts_with("PONG")) {
                break;
            }
            if (line.starts_with("-ERR")) {
                std::cerr << "fleet_simulator: NATS " << line;
                co_return asio::error::access_denied;
            }
        }
        co_return co_await publish_all();
    }

    // Reads server traffic (PING, router.start) and re-publishes periodically, until an error.
    asio::awaitable<void> run() {
        asio::co_spawn(socket_.get_executor(), republish_loop(), asio::detached);
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(socket_, input_, "\r\n", use_tuple);
            if (ec) {
                std::cerr << "fleet_simulator: NATS connection lost: " << ec.message() << "\n";
                timer_.cancel();
                co_return;
            }
            const std::string line(static_cast<const char*>(input_.data().data()), n);
            input_.consume(n);
            if (line.starts_with("PING")) {
                co_await write("PONG\r\n");
            } else if (line.starts_with("MSG ")) {
                // MSG <subject> <sid> [reply] <bytes>: skip the payload line, then answer the
                // router's start like route-emitter: send every route now.
                const std::size_t payload = std::stoul(line.substr(line.find_last_of(' ') + 1)) + 2;
                if (input_.size() < payload) {
                    auto [read_ec, got] = co_await asio::async_read(
                        socket_, input_, asio::transfer_exactly(payload - input_.size()),
                        use_tuple);
                    if (read_ec) {
                        co_return;
                    }
                }
                input_.consume(payload);
                ++router_starts_;
                co_await publish_all();
            } else if (line.starts_with("-ERR")) {
                std::cerr << "fleet_simulator: NATS " << line;
            }
        }
    }

    std::size_t publishes() const { return publishes_; }
    std::size_t router_starts() const { return router_starts_; }

  private:
    asio::awaitable<error_code> write(std::string data) {
        // One writer at a time: queue while a write is in flight.
        pending_.push_back(std::move(data));
        if (writing_) {
            co_return error_code{};
        }
        writing_ = true;
        error_code result;
        while (!pending_.empty()) {
            const std::string out = std::move(pending_.front());
            pending_.pop_front();
            auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), use_tuple);
            if (ec) {
                result = ec;
                pending_.clear();
                break;
            }
        }
        writing_ = false;
        co_return result;
    }

    asio::awaitable<error_code> publish_all() {
        std::string batch;
        for (const instance& inst : instances_) {
            const std::string payload =
                register_message(options_, apps_[inst.app], inst.index, inst.port);
            fmt::format_to(std::back_inserter(batch), "PUB router.register {}\r\n{}\r\n",
                           payload.size(), payload);
        }
        ++publishes_;
        co_return co_await write(std::move(batch));
    }

    asio::awaitable<void> republish_loop() {
        for (;;) {
            timer_.expires_after(options_.register_interval);
            auto [ec] = co_await timer_.async_wait(use_tuple);
            if (ec || !socket_.is_open()) {
                co_return;
            }
            if (co_await publish_all()) {
                co_return;
            }
        }
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    asio::streambuf input_{1 << 20};
    const options& options_;
    const std::vector<app_identity>& apps_;
    std::vector<instance>& instances_;
    std::deque<std::string> pending_;
    bool writing_ = false;
    std::size_t publishes_ = 0;
    std::size_t router_starts_ = 0;
};

// Instance i is hung when the running count of hung instances (i+1)*F crosses an integer:
// spread evenly over the fleet, exactly round-down(N*F) of them.
bool is_hung(std::size_t index, double fraction) {
    return std::floor(static_cast<double>(index + 1) * fraction) >
           std::floor(static_cast<double>(index) * fraction);
}

void write_ports_file(const std::string& path, const std::vector<instance>& instances) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        for (const instance& inst : instances) {
            out << inst.port << ' ' << (inst.hung ? 1 : 0) << '\n';
        }
    }
    std::rename(temporary.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv);
    const auto started = std::chrono::steady_clock::now();
    const std::vector<app_identity> apps = app_identities(o);
    const std::size_t total = o.apps * o.instances;

    // Bodies first: the expensive part, done before anything listens. With --variants V, instance
    // i serves body i % V: a platform of 5,000 instances need not hold 5,000 distinct bodies
    // (390 MB at 1,000 series) to load the gateway the same way.
    const std::size_t distinct = o.variants == 0 ? total : std::min(o.variants, total);
    std::vector<std::string> plain(distinct);
    std::vector<std::string> gzipped(o.gzip_bodies ? distinct : 0);
    std::size_t body_bytes = 0;
    std::size_t gzip_bytes = 0;
    for (std::size_t i = 0; i < distinct; ++i) {
        const std::string body = render_body(o.series, i);
        body_bytes += body.size();
        if (o.gzip_bodies) {
            const std::string compressed = mgw::compression::gzip_compress(body);
            gzip_bytes += compressed.size();
            gzipped[i] = render_response(compressed, true);
        }
        plain[i] = render_response(body, false);
    }

    asio::io_context io(static_cast<int>(o.threads));
    std::vector<instance> instances(total);
    for (std::size_t i = 0; i < total; ++i) {
        instance& inst = instances[i];
        inst.app = i / o.instances;
        inst.index = i % o.instances;
        inst.hung = is_hung(i, o.hung_fraction);
        inst.plain = &plain[i % distinct];
        inst.gzip = o.gzip_bodies ? &gzipped[i % distinct] : nullptr;
        inst.acceptor = std::make_unique<tcp::acceptor>(io);
        const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
        inst.acceptor->open(endpoint.protocol());
        inst.acceptor->bind(endpoint);
        inst.acceptor->listen(1024);
        inst.port = inst.acceptor->local_endpoint().port();
        asio::co_spawn(io, accept_loop(inst, o.max_connections_per_instance), asio::detached);
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    // The registrar's coroutines run on one strand, whatever the number of threads.
    const auto nats_strand = asio::make_strand(io);
    std::optional<registrar> nats;
    if (!o.nats_url.empty()) {
        nats.emplace(nats_strand, o, apps, instances);
    }
    // Sockets and acceptors close as the objects are destroyed after run() returns.
    signals.async_wait([&](error_code, int) { io.stop(); });

    const std::size_t hung = static_cast<std::size_t>(std::count_if(
        instances.begin(), instances.end(), [](const instance& i) { return i.hung; }));
    auto announce = [&] {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const std::string what =
            o.apps == 1
                ? fmt::format("app {}/{}/{}: {} instances", o.org, o.space, o.app, o.instances)
                : fmt::format("{} apps {}/{}/{}-0..{}: {} instances each, {} in all", o.apps, o.org,
                              o.space, o.app, o.apps - 1, o.instances, total);
        std::cerr << fmt::format(
            "fleet_simulator: {} ({} hung), {} series each, {} distinct "
            "bodies, {:.1f} bytes/series, {:.1f} MB per fleet scrape{}; ready in {:.2f} s\n",
            what, hung, o.series, distinct,
            static_cast<double>(body_bytes) / static_cast<double>(distinct * o.series),
            static_cast<double>(body_bytes) / static_cast<double>(distinct) *
                static_cast<double>(total) / 1e6,
            o.gzip_bodies ? fmt::format(" (gzip {:.1f} MB)", static_cast<double>(gzip_bytes) /
                                                                 static_cast<double>(distinct) *
                                                                 static_cast<double>(total) / 1e6)
                          : std::string(),
            seconds);
        if (!o.ports_file.empty()) {
            write_ports_file(o.ports_file, instances);
        }
    };

    if (nats) {
        asio::co_spawn(
            nats_strand,
            [&]() -> asio::awaitable<void> {
                if (const error_code ec = co_await nats->start()) {
                    std::cerr << "fleet_simulator: NATS " << o.nats_url << ": " << ec.message()
                              << "\n";
                    io.stop();
                    co_return;
                }
                announce();
                co_await nats->run();
            },
            asio::detached);
    } else {
        announce();
    }

    std::vector<std::jthread> workers;
    for (unsigned i = 1; i < o.threads; ++i) {
        workers.emplace_back([&io] { io.run(); });
    }
    io.run();
    workers.clear();
    if (nats) {
        std::cerr << fmt::format(
            "fleet_simulator: stopped after {} registration rounds ({} on "
            "router.start)\n",
            nats->publishes(), nats->router_starts());
    }
    return 0;
}
