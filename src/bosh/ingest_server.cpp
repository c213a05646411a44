// One coroutine per connection on its own strand: read, split lines, hand them to the sink,
// then post the cumulative ack. An over-long line is skipped up to its '\n' without buffering.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <mgw/bosh/ingest_server.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
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
    state(asio::io_context& io, ingest_options o, ingest_sink& s, core::logger& l)
        : io(io), options(std::move(o)), sink(s), log(l), acceptor(asio::make_strand(io)) {}

    asio::io_context& io;
    ingest_options options;
    ingest_sink& sink;
    core::logger& log;
    tcp::acceptor acceptor;
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
                    log.warn("bosh ingest connection refused: too many connections",
                             {{"max_connections", options.max_connections}});
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
        std::size_t skipping = 0;  // >0: inside an over-long line, this many bytes seen
        std::vector<char> buffer(std::size_t{64} << 10);
        std::vector<std::string_view> lines;  // of this read
        std::deque<std::string> assembled;    // lines that spanned reads (stable addresses)
        for (;;) {
            auto [ec, n] = co_await conn->socket.async_read_some(asio::buffer(buffer), use_tuple);
            if (ec) {
                break;
            }
            std::string_view data(buffer.data(), n);
            while (!data.empty()) {
                const std::size_t newline = data.find('\n');
                const std::string_view piece = data.substr(0, newline);
                if (skipping > 0) {
                    skipping += piece.size();
                } else if (pending.size() + piece.size() > options.max_line_bytes) {
                    skipping = pending.size() + piece.size();
                    pending.clear();
                    pending.shrink_to_fit();
                } else if (newline != std::string_view::npos && pending.empty()) {
                    handle(conn, piece, lines);  // the common case: no copy
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
                    sink.on_oversized_line(skipping);
                    ++conn->handled;
                    skipping = 0;
                }
                data.remove_prefix(newline + 1);
            }
            if (!lines.empty()) {
                sink.on_lines(lines);
                lines.clear();
                assembled.clear();
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
                             core::logger& log)
    : state_(std::make_shared<state>(io, std::move(options), sink, log)) {}

ingest_server::~ingest_server() {
    stop();
}

void ingest_server::start() {
    const tcp::endpoint endpoint(
        asio::ip::make_address(state_->options.host.empty() ? std::string("0.0.0.0")
                                                            : state_->options.host),
        state_->options.port);
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
    state_->log.info("bosh ingest listening",
                     {{"host", state_->options.host}, {"port", local_port()}});
    asio::co_spawn(acceptor.get_executor(), state_->accept_loop(), asio::detached);
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
