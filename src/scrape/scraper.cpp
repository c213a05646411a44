// The fan-out and the per-instance HTTP(S) exchange: concurrency slot, pooled or new
// connection, GET with the forwarding policy, bounded streaming body read, gzip, redirects.
#include <array>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/compression/gzip.hpp>
#include <mgw/core/transfer_whole.hpp>
#include <mgw/scrape/request_headers.hpp>
#include <mgw/scrape/scraper.hpp>
#include <mgw/text/ascii.hpp>

#include "fetch_machine.hpp"

namespace mgw::scrape {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk_bytes = std::size_t{32} * 1024;
constexpr std::size_t read_buffer_bytes = std::size_t{32} * 1024;
// What the connection's buffer holds for the response header: a body of known length does not
// pass through it (exchange), only a chunked or gzip one, which grows it to read_buffer_bytes.
constexpr std::size_t header_buffer_bytes = std::size_t{4} * 1024;
constexpr std::uint32_t header_limit_bytes = 64 * 1024;
constexpr std::size_t result_count = static_cast<std::size_t>(scrape_error::cancelled) + 1;

struct failure {
    scrape_error error;
    std::string_view reason;
};

// Maps a connect-phase error. Everything that means "nobody answered" is connect_refused.
failure classify_connect(const error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return {scrape_error::cancelled, "cancelled"};
    }
    if (ec == asio::error::connection_refused) {
        return {scrape_error::connect_refused, "refused"};
    }
    if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
        ec == asio::error::no_data) {
        return {scrape_error::connect_refused, "resolve"};
    }
    if (ec == asio::error::timed_out) {
        return {scrape_error::connect_timeout, "connect"};
    }
    return {scrape_error::connect_refused, "unreachable"};
}

failure classify_tls(const error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return {scrape_error::cancelled, "cancelled"};
    }
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        return {scrape_error::tls_error, "certificate"};
    }
    return {scrape_error::tls_error, "handshake"};
}

failure classify_exchange(const error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return {scrape_error::cancelled, "cancelled"};
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated) {
        return {scrape_error::protocol_error, "connection_closed"};
    }
    if (ec == http::error::header_limit) {
        return {scrape_error::protocol_error, "header_too_large"};
    }
    if (ec.category() == asio::error::get_ssl_category()) {
        return {scrape_error::tls_error, "record"};
    }
    return {scrape_error::protocol_error, "bad_response"};
}

// Makes room for `needed` bytes in `body`, its lease grown first; false when the memory
// ceiling refuses. The lease then covers exactly what the string holds.
bool reserve_leased(std::string& body, core::memory_lease& lease, std::size_t needed) {
    const std::size_t capacity = body.capacity();
    if (needed <= capacity) {
        return true;
    }
    // libstdc++ grows a string to at least twice its capacity: lease what it will allocate.
    const std::size_t allocated = std::max(needed, capacity * 2);
    if (allocated > lease.bytes() && !lease.grow(allocated - lease.bytes())) {
        return false;
    }
    body.reserve(needed);
    if (lease.bytes() > body.capacity()) {
        lease.shrink(lease.bytes() - body.capacity());
    }
    return true;
}

// What one request/response on one connection produced, besides the body.
struct exchange_outcome {
    scrape_error error = scrape_error::ok;
    std::string_view reason;
    bool nothing_received = false;  // the connection failed before any response byte
    bool reusable = false;          // response fully read and keep-alive
    std::string location;
};

std::string host_header(const scrape_target& target) {
    const bool default_port = target.port == (target.tls ? 443 : 80);
    const bool ipv6 = target.host.find(':') != std::string::npos;
    std::string host = ipv6 ? "[" + target.host + "]" : target.host;
    if (!default_port) {
        host += ':';
        host += std::to_string(target.port);
    }
    return host;
}

http::request<http::empty_body> make_request(const scrape_target& target, const std::string& path,
                                             const scrape_request_options& options,
                                             std::string_view user_agent) {
    http::request<http::empty_body> request{http::verb::get, path, 11};
    request.set(http::field::host, host_header(target));
    request.set(http::field::user_agent, user_agent);
    if (!options.accept.empty()) {
        request.set(http::field::accept, options.accept);
    }
    if (options.accept_gzip) {
        request.set(http::field::accept_encoding, "gzip");
    }
    request.set("X-Prometheus-Scrape-Timeout-Seconds",
                format_timeout_header(options.deadline - clock::now()));
    for (const auto& [name, value] : options.headers) {
        // The caller filters with select_forward_headers; this is the last line of defence
        // against a hop-by-hop header breaking our own framing.
        if (!is_hop_by_hop(name)) {
            request.insert(name, value);
        }
    }
    request.keep_alive(true);
    return request;
}

// One GET on an open connection; the decoded body goes to result.body.
template <typename Stream>
asio::awaitable<exchange_outcome> exchange(Stream& stream, beast::flat_buffer& buffer,
                                           const http::request<http::empty_body>& request,
                                           const scrape_request_options& options,
                                           scrape_result& result) {
    exchange_outcome out;
    auto fail = [&](failure f) {
        out.error = f.error;
        out.reason = f.reason;
        return out;
    };

    auto [write_ec, written] = co_await http::async_write(stream, request, use_tuple);
    if (write_ec) {
        out.nothing_received = true;
        co_return fail(classify_exchange(write_ec));
    }

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);  // enforced below, on the decoded size
    parser.header_limit(header_limit_bytes);
    auto [header_ec, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (header_ec) {
        out.nothing_received = header_ec == http::error::end_of_stream ||
                               (header_bytes == 0 && (header_ec == asio::error::connection_reset ||
                                                      header_ec == asio::error::eof));
        co_return fail(classify_exchange(header_ec));
    }
    const auto& response = parser.get();
    result.status = response.result_int();
    result.content_type = std::string(response[http::field::content_type]);
    if (result.status != 200) {
        if (result.status >= 300 && result.status < 400) {
            out.location = std::string(response[http::field::location]);
        }
        // The body is not read, so the connection cannot carry another request.
        out.error = scrape_error::http_status;
        co_return out;
    }

    const std::string_view encoding =
        text::trim_whitespace(response[http::field::content_encoding]);
    const bool gzip = text::iequals(encoding, "gzip") || text::iequals(encoding, "x-gzip");
    if (!gzip && !encoding.empty() && !text::iequals(encoding, "identity")) {
        co_return fail({scrape_error::protocol_error, "content_encoding"});
    }
    const std::size_t limit = options.max_body_bytes;
    // Deflate never expands by more than ~0.1% plus headers: a larger compressed body is
    // certainly too large once decoded.
    const std::size_t wire_limit = gzip ? limit + limit / 512 + 1024 : limit;
    if (const auto length = parser.content_length(); length && *length > wire_limit) {
        co_return fail({scrape_error::body_too_large, "content_length"});
    }
    if (const auto length = parser.content_length(); length && !gzip) {
        // An identity body of known length is read straight into its final, exact-size
        // storage: no 32 KiB staging chunk per fetch in flight and one copy fewer. Only the
        // bytes that arrived with the header pass through the connection's buffer.
        const auto total = static_cast<std::size_t>(*length);
        if (!reserve_leased(result.body, result.lease, total)) {
            co_return fail({scrape_error::memory, "memory"});
        }
        const std::size_t early = std::min(buffer.size(), total);
        result.body.resize(total);
        asio::buffer_copy(asio::buffer(result.body.data(), early), buffer.data());
        buffer.consume(early);
        if (buffer.size() == 0) {
            buffer.shrink_to_fit();  // nothing but the body is read until the next request
        }
        if (early < total) {
            auto [body_ec, body_bytes] = co_await asio::async_read(
                stream, asio::buffer(result.body.data() + early, total - early),
                core::transfer_whole, use_tuple);
            if (body_ec) {
                result.body.resize(early + body_bytes);
                result.wire_bytes += early + body_bytes;
                co_return fail(classify_exchange(body_ec));
            }
        }
        result.wire_bytes += total;
        out.reusable = response.keep_alive();
        co_return out;
    }

    std::optional<mgw::compression::gzip_decoder> decoder;
    mgw::compression::gzip_status gzip_state = mgw::compression::gzip_status::ok;
    if (gzip) {
        decoder.emplace(limit);
    }
    // Beast reads max(512, free capacity) bytes at a time: without room reserved, a
    // 190 KB body takes ~300 recv calls instead of ~6.
    buffer.reserve(read_buffer_bytes);
    std::vector<char> chunk(read_chunk_bytes);
    while (!parser.is_done()) {
        auto& body = parser.get().body();
        body.data = chunk.data();
        body.size = chunk.size();
        auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (read_ec && read_ec != http::error::need_buffer) {
            co_return fail(classify_exchange(read_ec));
        }
        const std::size_t got = chunk.size() - parser.get().body().size;
        const std::string_view data(chunk.data(), got);
        result.wire_bytes += got;
        if (!gzip) {
            if (result.body.size() + got > limit) {
                co_return fail({scrape_error::body_too_large, "body"});
            }
            if (!reserve_leased(result.body, result.lease, result.body.size() + got)) {
                co_return fail({scrape_error::memory, "memory"});
            }
            result.body.append(data);
            continue;
        }
        if (gzip_state == mgw::compression::gzip_status::done) {
            continue;  // bytes after the gzip member are ignored
        }
        // The decoder only fills capacity that was leased first.
        std::string_view pending = data;
        for (;;) {
            gzip_state = decoder->write_within_capacity(pending, result.body);
            if (gzip_state != mgw::compression::gzip_status::output_full) {
                break;
            }
            const std::size_t capacity = result.body.capacity();
            const std::size_t wanted =
                std::min(std::max(capacity * 2, capacity + read_chunk_bytes), limit + 1);
            if (!reserve_leased(result.body, result.lease, wanted)) {
                co_return fail({scrape_error::memory, "memory"});
            }
        }
        if (gzip_state == mgw::compression::gzip_status::too_large) {
            co_return fail({scrape_error::body_too_large, "gzip_body"});
        }
        if (gzip_state == mgw::compression::gzip_status::corrupt) {
            co_return fail({scrape_error::bad_gzip, "corrupt"});
        }
    }
    if (gzip && gzip_state != mgw::compression::gzip_status::done) {
        co_return fail({scrape_error::bad_gzip, "truncated"});
    }
    out.reusable = response.keep_alive();
    co_return out;
}

}  // namespace

struct scraper::metrics {
    prometheus::Family<prometheus::Counter>& requests;
    std::array<prometheus::Counter*, result_count> by_result{};
    prometheus::Family<prometheus::Counter>& connections;
    prometheus::Counter& opened;
    prometheus::Counter& reused;
    prometheus::Counter& wire_bytes;
    prometheus::Gauge& idle;
    prometheus::Gauge& in_flight;

    explicit metrics(prometheus::Registry& registry)
        : requests(prometheus::BuildCounter()
                       .Name("mgw_scrape_requests_total")
                       .Help("Instance scrapes by outcome (ok or the error class).")
                       .Register(registry)),
          connections(prometheus::BuildCounter()
                          .Name("mgw_scrape_connections_total")
                          .Help("Connections used for instance scrapes: opened or reused "
                                "from the keep-alive pool.")
                          .Register(registry)),
          opened(connections.Add({{"kind", "opened"}})),
          reused(connections.Add({{"kind", "reused"}})),
          wire_bytes(prometheus::BuildCounter()
                         .Name("mgw_scrape_body_bytes_total")
                         .Help("Response body bytes received from instances (compressed "
                               "size when gzip).")
                         .Register(registry)
                         .Add({})),
          idle(prometheus::BuildGauge()
                   .Name("mgw_scrape_pool_connections")
                   .Help("Idle keep-alive connections to instances.")
                   .Register(registry)
                   .Add({})),
          in_flight(prometheus::BuildGauge()
                        .Name("mgw_scrape_in_flight")
                        .Help("Instance scrapes holding a concurrency slot.")
                        .Register(registry)
                        .Add({})) {
        for (std::size_t i = 0; i < result_count; ++i) {
            by_result[i] =
                &requests.Add({{"result", std::string(to_string(static_cast<scrape_error>(i)))}});
        }
    }
};

// Where a fetch is, so a deadline can say what it interrupted.
struct scraper::fetch_state {
    enum class phase { queued, connecting, tls_handshake, exchanging };
    phase where = phase::queued;
    bool reused_connection = false;
};

scraper::scraper(asio::any_io_executor executor, const scraper_config& config, core::logger& log,
                 prometheus::Registry& registry)
    : executor_(std::move(executor)),
      config_(config),
      log_(log),
      tls_context_(make_client_context(config.tls)),
      pool_(config.pool),
      limit_(executor_, config.max_concurrency),
      metrics_(std::make_unique<metrics>(registry)) {}

scraper::~scraper() = default;

asio::awaitable<std::vector<scrape_result>> scraper::scrape_all(
    std::span<const scrape_target> targets, const scrape_request_options& options,
    scrape_completion on_complete) {
    pool_.sweep(clock::now());
    metrics_->idle.Set(static_cast<double>(pool_.idle_count()));
    if (targets.empty()) {
        co_return std::vector<scrape_result>{};
    }
    // One strand per instance: the loop may run on several threads.
    auto spawn = [&](std::size_t index) {
        return asio::co_spawn(asio::make_strand(executor_),
                              scrape_and_report(targets[index], index, options, on_complete),
                              asio::deferred);
    };
    std::vector<decltype(spawn(0))> operations;
    operations.reserve(targets.size());
    for (std::size_t index = 0; index < targets.size(); ++index) {
        operations.push_back(spawn(index));
    }
    // The group forwards our cancellation to every child and completes when all have.
    auto [order, exceptions, results] =
        co_await asio::experimental::make_parallel_group(std::move(operations))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (exceptions[i]) {
            // Only allocation failure can get here; report the instance, keep the others.
            results[i] = scrape_result{};
            results[i].error = scrape_error::cancelled;
            results[i].reason = "exception";
        }
    }
    co_return std::move(results);
}

asio::awaitable<scrape_result> scraper::scrape_and_report(const scrape_target& target,
                                                          std::size_t index,
                                                          const scrape_request_options& options,
                                                          const scrape_completion& on_complete) {
    scrape_result result = co_await scrape_one(target, options);
    if (on_complete) {
        on_complete(index, result);
    }
    co_return result;
}

asio::awaitable<scrape_result> scraper::scrape_one(const scrape_target& target,
                                                   const scrape_request_options& options) {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto start = clock::now();
    fetch_state state;
    asio::steady_timer deadline(co_await asio::this_coro::executor, options.deadline);
    auto outcome =
        co_await (limited_fetch(target, options, state) || deadline.async_wait(use_tuple));
    scrape_result result;
    if (outcome.index() == 0) {
        result = std::move(std::get<0>(outcome));
    } else if (std::get<0>(std::get<1>(outcome))) {
        result.error = scrape_error::cancelled;
        result.reason = "cancelled";
    } else {
        using phase = fetch_state::phase;
        switch (state.where) {
            case phase::queued:
                result.error = scrape_error::timeout;
                result.reason = "queued";
                break;
            case phase::connecting:
                result.error = scrape_error::connect_timeout;
                result.reason = "connect";
                break;
            case phase::tls_handshake:
                result.error = scrape_error::timeout;
                result.reason = "tls_handshake";
                break;
            case phase::exchanging:
                result.error = scrape_error::timeout;
                result.reason = "response";
                break;
        }
    }
    if (!result.ok()) {
        // A failed instance holds nothing (its bytes are given back now, not with the merge).
        std::string().swap(result.body);
        result.lease.reset();
    }
    result.reused_connection = state.reused_connection;
    result.duration = clock::now() - start;
    record(result);
    if (!result.ok() && log_.enabled(core::log_level::debug)) {
        log_.debug("scrape failed", {{"host", target.host},
                                     {"port", target.port},
                                     {"path", target.path},
                                     {"result", to_string(result.error)},
                                     {"reason", result.reason},
                                     {"status", result.status}});
    }
    co_return result;
}

asio::awaitable<scrape_result> scraper::limited_fetch(const scrape_target& target,
                                                      const scrape_request_options& options,
                                                      fetch_state& state) {
    co_await asio::this_coro::throw_if_cancelled(false);
    error_code ec;
    concurrency_limit::permit permit = co_await limit_.acquire(ec);
    if (!permit) {
        scrape_result cancelled;
        cancelled.reason = "cancelled";
        co_return cancelled;
    }
    metrics_->in_flight.Increment();
    scrape_result result = co_await fetch(target, options, state);
    metrics_->in_flight.Decrement();
    co_return result;
}

asio::awaitable<scrape_result> scraper::fetch(const scrape_target& target,
                                              const scrape_request_options& options,
                                              fetch_state& state) {
    const endpoint_key key{target.host, target.port, target.tls, target.server_name};
    fetch_machine machine(target, target.path);
    scrape_result result;
    if (options.memory != nullptr) {
        result.lease = options.memory->empty_lease(core::memory_use::scrape_bodies);
    }
    std::unique_ptr<connection> conn;
    for (fetch_machine::action next = machine.start(); next != fetch_machine::action::finish;) {
        if (next == fetch_machine::action::acquire) {
            conn = pool_.acquire(key, clock::now());
            const bool reused = conn != nullptr;
            if (reused) {
                metrics_->reused.Increment();
            } else {
                state.where = fetch_state::phase::connecting;
                error_code ec;
                conn = co_await connect(key, state, ec);
                if (!conn) {
                    const failure f = state.where == fetch_state::phase::tls_handshake
                                          ? classify_tls(ec)
                                          : classify_connect(ec);
                    next = machine.connect_failed(f.error, f.reason);
                    continue;
                }
                metrics_->opened.Increment();
            }
            state.reused_connection = reused;
            next = machine.connected(reused);
            continue;
        }
        // action::exchange
        state.where = fetch_state::phase::exchanging;
        ++conn->requests_;
        conn->buffer_.reserve(header_buffer_bytes);
        result.body.clear();
        result.status = 0;
        const auto request = make_request(target, machine.path(), options, config_.user_agent);
        exchange_outcome out;
        if (auto* tls = std::get_if<connection::tls_stream>(&conn->stream_)) {
            out = co_await exchange(*tls, conn->buffer_, request, options, result);
        } else {
            out = co_await exchange(std::get<connection::plain_stream>(conn->stream_),
                                    conn->buffer_, request, options, result);
        }
        next = machine.exchanged({.error = out.error,
                                  .reason = out.reason,
                                  .nothing_received = out.nothing_received,
                                  .reusable = out.reusable,
                                  .location = out.location,
                                  .status = static_cast<int>(result.status)});
    }
    if (machine.keep() && conn) {
        if (conn->buffer_.size() == 0) {
            conn->buffer_.shrink_to_fit();  // idle connections hold no buffer
        }
        pool_.release(key, std::move(conn), clock::now());
        metrics_->idle.Set(static_cast<double>(pool_.idle_count()));
    }
    result.error = machine.error();
    result.reason = machine.reason();
    co_return std::move(result);
}

asio::awaitable<std::unique_ptr<connection>> scraper::connect(const endpoint_key& key,
                                                              fetch_state& state, error_code& ec) {
    const auto executor = co_await asio::this_coro::executor;
    beast::tcp_stream stream(executor_);
    error_code parse_ec;
    const auto address = asio::ip::make_address(key.host, parse_ec);
    if (!parse_ec) {
        auto [connect_ec] =
            co_await stream.async_connect(tcp::endpoint(address, key.port), use_tuple);
        ec = connect_ec;
    } else {
        tcp::resolver resolver(executor);
        auto [resolve_ec, endpoints] =
            co_await resolver.async_resolve(key.host, std::to_string(key.port), use_tuple);
        if (resolve_ec) {
            ec = resolve_ec;
            co_return nullptr;
        }
        auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
        ec = connect_ec;
    }
    if (ec) {
        co_return nullptr;
    }
    stream.socket().set_option(tcp::no_delay(true), parse_ec);
    if (!key.tls) {
        co_return std::make_unique<connection>(std::move(stream));
    }

    state.where = fetch_state::phase::tls_handshake;
    connection::tls_stream tls(std::move(stream), tls_context_);
    const std::string& name = key.server_name.empty() ? key.host : key.server_name;
    asio::ip::make_address(name, parse_ec);
    // RFC 6066: SNI carries host names only, never IP literals.
    if (parse_ec && !SSL_set_tlsext_host_name(tls.native_handle(), name.c_str())) {
        ec = error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        co_return nullptr;
    }
    if (!config_.tls.skip_verify) {
        tls.set_verify_callback(ssl::host_name_verification(name));
    }
    auto [handshake_ec] = co_await tls.async_handshake(ssl::stream_base::client, use_tuple);
    if (handshake_ec) {
        ec = handshake_ec;
        co_return nullptr;
    }
    co_return std::make_unique<connection>(std::move(tls));
}

void scraper::record(const scrape_result& result) {
    metrics_->by_result[static_cast<std::size_t>(result.error)]->Increment();
    metrics_->wire_bytes.Increment(static_cast<double>(result.wire_bytes));
}

}  // namespace mgw::scrape
