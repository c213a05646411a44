// One coroutine per connection on its own strand: read, split lines, hand them to the sink,
// then post the cumulative ack. An over-long line is skipped up to its '\n' without buffering;
// each read races the connection's idle deadline (reset by every complete line).
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <mgw/bosh/ingest_server.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/listener.hpp>
#include <mgw/core/log_throttle.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct connection : std::enable_shared_from_this<connection> {
    explicit connection(tcp::socket s) : socket(std::move(s)) {}

    tcp::socket socket;
    std::uint64_t handled = 0;
    std::uint64_t acked = 0;
    bool ack_writing = false;
    std::string ack_text;

    // Runs on the socket's strand.
    void post_ack() {
        if (ack_writing || acked == handled || !socket.is_open()) {
            return;
        }
        ack_writing = true;
        ack_text = std::to_string(handled);
        ack_text += '\n';
        acked = handled;
        asio::async_write(socket, asio::buffer(ack_text),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              self->ack_writing = false;
                              if (!ec) {
                                  self->post_ack();
                              }
                          });
    }
};

}  // namespace

struct ingest_server::state : std::enable_shared_from_this<state> {
    state(asio::io_context& io, ingest_options o, ingest_sink& s, core::memory_budget& m,
          core::logger& l)
        : io(io),
          options(std::move(o)),
          sink(s),
          memory(m),
          log(l),
          acceptor(asio::make_strand(io)) {}

    asio::io_context& io;
    ingest_options options;
    ingest_sink& sink;
    core::memory_budget& memory;
    core::logger& log;
    tcp::acceptor acceptor;
    // Whoever fills the connection slots decides how often these would be logged.
    core::log_throttle refused_log;
    std::mutex mutex;
    std::map<connection*, std::weak_ptr<connection>> connections;
    bool stopped = false;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), use_tuple);
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            if (ec) {
                log.warn("bosh ingest accept failed", {{"error", ec.message()}});
                continue;
            }
            auto conn = std::make_shared<connection>(std::move(socket));
            {
                const std::lock_guard lock(mutex);
                if (stopped) {
                    co_return;
                }
                if (connections.size() >= options.max_connections) {
                    sink.on_connection_refused();
                    if (const auto occurrences = refused_log.admit()) {
                        log.warn("bosh ingest connection refused: too many connections",
                                 {{"max_connections", options.max_connections},
                                  {"occurrences", *occurrences}});
                    }
                    continue;  // the socket closes as `conn` goes
                }
                connections.emplace(conn.get(), conn);
            }
            sink.on_connection_change(+1);
            auto executor = conn->socket.get_executor();
            asio::co_spawn(executor, serve(conn), asio::detached);
        }
    }

    asio::awaitable<void> serve(std::shared_ptr<connection> conn) {
        auto self = shared_from_this();
        std::string pending;       // the start of a line whose '\n' has not arrived
        std::size_t skipping = 0;  // >0: inside a line being skipped, this many bytes seen
        skip_reason skipped_for = skip_reason::too_long;
        std::vector<char> buffer(std::size_t{64} << 10);
        std::vector<std::string_view> lines;  // of this read
        std::deque<std::string> assembled;    // lines that spanned reads (stable addresses)
        // Bytes of `pending` and `assembled`: their size is the peer's to choose.
        core::memory_lease held = memory.empty_lease(core::memory_use::bosh_queues);
        asio::steady_timer idle(conn->socket.get_executor());
        auto last_line = std::chrono::steady_clock::now();
        for (;;) {
            idle.expires_at(last_line + options.idle_timeout);
            auto outcome =
                co_await (conn->socket.async_read_some(asio::buffer(buffer), use_tuple) ||
                          idle.async_wait(use_tuple));
            if (outcome.index() == 1) {
                sink.on_idle_timeout();
                log.debug("bosh ingest connection closed: idle",
                          {{"idle_timeout_ms", options.idle_timeout.count()}});
                break;
            }
            auto [ec, n] = std::get<0>(outcome);
            if (ec) {
                break;
            }
            const std::uint64_t handled_before = conn->handled;
            std::string_view data(buffer.data(), n);
            while (!data.empty()) {
                const std::size_t newline = data.find('\n');
                const std::string_view piece = data.substr(0, newline);
                if (skipping > 0) {
                    skipping += piece.size();
                } else if (pending.size() + piece.size() > options.max_line_bytes) {
                    skipping = pending.size() + piece.size();
                    skipped_for = skip_reason::too_long;
                    held.shrink(pending.size());
                    pending.clear();
                    pending.shrink_to_fit();
                } else if (newline != std::string_view::npos && pending.empty()) {
                    handle(conn, piece, lines);  // the common case: no copy
                } else if (!held.grow(piece.size())) {
                    skipping = pending.size() + piece.size();
                    skipped_for = skip_reason::memory;
                    held.shrink(pending.size());
                    pending.clear();
                    pending.shrink_to_fit();
                } else {
                    pending.append(piece);
                    if (newline != std::string_view::npos) {
                        handle(conn, assembled.emplace_back(std::move(pending)), lines);
                        pending.clear();
                    }
                }
                if (newline == std::string_view::npos) {
                    break;
                }
                if (skipping > 0) {
                    sink.on_skipped_line(skipped_for, skipping);
                    ++conn->handled;
                    skipping = 0;
                }
                data.remove_prefix(newline + 1);
            }
            if (!lines.empty()) {
                sink.on_lines(lines);
                lines.clear();
            }
            assembled.clear();
            held.shrink(held.bytes() - std::min(held.bytes(), pending.size()));
            if (conn->handled != handled_before) {
                last_line = std::chrono::steady_clock::now();
            }
            conn->post_ack();
        }
        boost::system::error_code ignored;
        conn->socket.close(ignored);
        {
            const std::lock_guard lock(mutex);
            connections.erase(conn.get());
        }
        sink.on_connection_change(-1);
    }

    static void handle(const std::shared_ptr<connection>& conn, std::string_view line,
                       std::vector<std::string_view>& lines) {
        ++conn->handled;
        if (!line.empty() && line != "\r") {
            lines.push_back(line);
        }
    }
};

ingest_server::ingest_server(asio::io_context& io, ingest_options options, ingest_sink& sink,
                             core::memory_budget& memory, core::logger& log)
    : state_(std::make_shared<state>(io, std::move(options), sink, memory, log)) {}

ingest_server::~ingest_server() {
    stop();
}

void ingest_server::start() {
    const ingest_options& options = state_->options;
    if (!options.allow_remote && !core::is_loopback_host(options.host)) {
        throw std::invalid_argument(
            "bosh.ingest_listen: \"" + options.host +
            "\" is not a loopback address; the HM ingest port is unauthenticated (set "
            "bosh.ingest_allow_remote: true to listen there anyway)");
    }
    const tcp::endpoint endpoint =
        core::resolve_listen_endpoint("bosh ingest", options.host, options.port);
    if (!options.allow_remote && !endpoint.address().is_loopback()) {
        throw std::invalid_argument("bosh.ingest_listen: \"" + options.host + "\" resolves to " +
                                    endpoint.address().to_string() +
                                    ", not a loopback address (see bosh.ingest_allow_remote)");
    }
    core::open_listener(state_->acceptor, "bosh ingest", endpoint);
    state_->log.info("bosh ingest listening", {{"host", options.host}, {"port", local_port()}});
    asio::co_spawn(state_->acceptor.get_executor(), state_->accept_loop(), asio::detached);
}

std::uint16_t ingest_server::local_port() const {
    boost::system::error_code ec;
    const auto endpoint = state_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

void ingest_server::stop() {
    std::vector<std::shared_ptr<connection>> open;
    {
        const std::lock_guard lock(state_->mutex);
        if (state_->stopped) {
            return;
        }
        state_->stopped = true;
        for (auto& [raw, weak] : state_->connections) {
            if (auto conn = weak.lock()) {
                open.push_back(std::move(conn));
            }
        }
    }
    asio::dispatch(state_->acceptor.get_executor(), [s = state_] {
        boost::system::error_code ignored;
        s->acceptor.close(ignored);
    });
    for (auto& conn : open) {
        asio::dispatch(conn->socket.get_executor(), [conn] {
            boost::system::error_code ignored;
            conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
            conn->socket.close(ignored);
        });
    }
}

}  // namespace mgw::bosh
