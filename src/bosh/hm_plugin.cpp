// A reader thread drains stdin into a bounded buffer as fast as HM writes (the original plugin
// stopped reading while it reconnected, which stalled HM's pipe). The io_context thread sends
// the buffer over TCP and removes lines only once the gateway acknowledged them, so a gateway
// restart loses nothing the buffer holds (a line may arrive twice: at-least-once).
#include <cerrno>
#include <deque>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <mgw/bosh/hm_plugin.hpp>
#include <mgw/core/transfer_whole.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_write_bytes = std::size_t{256} << 10;

class plugin {
  public:
    plugin(const hm_plugin_options& options, core::logger& log)
        : options_(options), log_(log), wake_(io_, 1) {}

    int run(hm_plugin_totals* totals) {
        std::thread reader([this] { read_stdin(); });
        int exit_code = 0;
        asio::co_spawn(io_, forward(exit_code), asio::detached);
        io_.run();
        // The reader only ends at EOF or a read error, which forward() waited for.
        reader.join();
        const std::lock_guard lock(mutex_);
        log_.info("hm-plugin exiting", {{"read", read_},
                                        {"delivered", delivered_},
                                        {"dropped", dropped_},
                                        {"unsent", buffer_.size()}});
        if (totals != nullptr) {
            *totals = {read_, delivered_, dropped_, buffer_.size()};
        }
        return exit_code;
    }

  private:
    // Reader thread: never waits for the network.
    void read_stdin() {
        std::string partial;
        std::vector<char> chunk(std::size_t{64} << 10);
        for (;;) {
            const ssize_t n = ::read(options_.input_fd, chunk.data(), chunk.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                if (n < 0) {
                    log_.error("hm-plugin cannot read stdin", {{"errno", errno}});
                }
                break;
            }
            std::string_view data(chunk.data(), static_cast<std::size_t>(n));
            while (!data.empty()) {
                const std::size_t newline = data.find('\n');
                if (newline == std::string_view::npos) {
                    partial.append(data);
                    break;
                }
                partial.append(data.substr(0, newline + 1));
                push(std::move(partial));
                partial.clear();
                data.remove_prefix(newline + 1);
            }
        }
        if (!partial.empty()) {
            partial += '\n';  // HM died mid-line: forward what there is; the gateway judges it
            push(std::move(partial));
        }
        {
            const std::lock_guard lock(mutex_);
            eof_ = true;
        }
        wake_.try_send(boost::system::error_code{});
    }

    void push(std::string line) {
        bool log_drop = false;
        std::uint64_t dropped = 0;
        {
            const std::lock_guard lock(mutex_);
            ++read_;
            if (buffer_.size() >= options_.buffer_lines ||
                buffered_bytes_ + line.size() > options_.buffer_bytes) {
                dropped = ++dropped_;
                const auto now = clock::now();
                if (now - last_drop_log_ >= std::chrono::seconds(10)) {
                    last_drop_log_ = now;
                    log_drop = true;
                }
            } else {
                buffered_bytes_ += line.size();
                buffer_.push_back(std::move(line));
            }
        }
        if (log_drop) {
            log_.warn("hm-plugin buffer full, dropping events",
                      {{"dropped_total", dropped},
                       {"buffer_lines", options_.buffer_lines},
                       {"buffer_bytes", options_.buffer_bytes}});
        }
        wake_.try_send(boost::system::error_code{});
    }

    std::uint64_t delivered() {
        const std::lock_guard lock(mutex_);
        return delivered_;
    }

    bool finished() {
        const std::lock_guard lock(mutex_);
        return eof_ && buffer_.empty();
    }

    bool nothing_to_send() {
        const std::lock_guard lock(mutex_);
        return !eof_ && buffer_.empty();
    }

    std::optional<clock::time_point> flush_deadline() {
        const std::lock_guard lock(mutex_);
        if (!eof_) {
            return std::nullopt;
        }
        if (!eof_seen_at_) {
            eof_seen_at_ = clock::now();
        }
        return *eof_seen_at_ + options_.flush_timeout;
    }

    asio::awaitable<void> forward(int& exit_code) {
        auto executor = co_await asio::this_coro::executor;
        auto backoff = options_.initial_backoff;
        bool logged_down = false;
        for (;;) {
            if (finished()) {
                break;
            }
            const auto deadline = flush_deadline();
            if (deadline && clock::now() >= *deadline) {
                exit_code = 1;
                log_.error("hm-plugin gave up delivering buffered events after stdin closed",
                           {{"flush_timeout_ms", options_.flush_timeout.count()}});
                break;
            }
            tcp::socket socket(executor);
            const boost::system::error_code ec = co_await connect(socket);
            if (ec) {
                if (!logged_down) {
                    log_.warn("hm-plugin cannot reach the gateway, buffering",
                              {{"host", options_.host},
                               {"port", options_.port},
                               {"error", ec.message()}});
                    logged_down = true;
                }
                asio::steady_timer pause(executor, backoff);
                if (deadline && pause.expiry() > *deadline) {
                    pause.expires_at(*deadline);
                }
                co_await pause.async_wait(use_tuple);
                backoff = std::min(backoff * 2, options_.max_backoff);
                continue;
            }
            logged_down = false;
            log_.info("hm-plugin connected", {{"host", options_.host}, {"port", options_.port}});
            const std::uint64_t delivered_before = delivered();
            co_await session(socket);
            if (finished()) {
                break;
            }
            // The gateway closes connections that carry no line for bosh.ingest_idle_timeout.
            // Such a close lost nothing: connect again once there is something to send, so a
            // quiet director does not keep a connection churning.
            while (nothing_to_send()) {
                co_await wake_.async_receive(use_tuple);
            }
            if (finished()) {
                break;
            }
            // A connection that delivered nothing (a gateway refusing or resetting at once)
            // must not turn into a reconnect loop.
            if (delivered() > delivered_before) {
                backoff = options_.initial_backoff;
            }
            asio::steady_timer pause(executor, backoff);
            co_await pause.async_wait(use_tuple);
            backoff = std::min(backoff * 2, options_.max_backoff);
        }
        io_.stop();
    }

    asio::awaitable<boost::system::error_code> connect(tcp::socket& socket) {
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(options_.host, ec);
        if (ec) {
            tcp::resolver resolver(socket.get_executor());
            auto [rec, results] = co_await resolver.async_resolve(
                options_.host, std::to_string(options_.port), use_tuple);
            if (rec) {
                co_return rec;
            }
            auto [cec, endpoint] = co_await asio::async_connect(socket, results, use_tuple);
            co_return cec;
        }
        auto [cec] =
            co_await socket.async_connect(tcp::endpoint(address, options_.port), use_tuple);
        if (!cec) {
            socket.set_option(tcp::no_delay(true), ec);
        }
        co_return cec;
    }

    // One connection: the writer sends buffered lines in order; the ack reader removes the
    // acknowledged ones. Either ending (error, or everything delivered after EOF) ends both.
    asio::awaitable<void> session(tcp::socket& socket) {
        sent_ = 0;
        acked_ = 0;
        co_await (write_loop(socket) || ack_loop(socket));
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    asio::awaitable<void> write_loop(tcp::socket& socket) {
        auto executor = co_await asio::this_coro::executor;
        std::string batch;
        asio::steady_timer timer(executor);
        for (;;) {
            batch.clear();
            std::size_t lines = 0;
            bool eof = false;
            {
                const std::lock_guard lock(mutex_);
                eof = eof_;
                while (sent_ + lines < buffer_.size() && batch.size() < max_write_bytes) {
                    batch += buffer_[sent_ + lines];
                    ++lines;
                }
            }
            if (lines > 0) {
                // Counted as sent before the write completes: the ack for these lines may be
                // read before this coroutine resumes.
                sent_ += lines;
                timer.expires_after(options_.write_timeout);
                auto result = co_await (asio::async_write(socket, asio::buffer(batch),
                                                          core::transfer_whole, use_tuple) ||
                                        timer.async_wait(use_tuple));
                if (result.index() != 0 || std::get<0>(std::get<0>(result))) {
                    log_.warn("hm-plugin write to the gateway failed, reconnecting",
                              {{"timed_out", result.index() != 0}});
                    co_return;
                }
                continue;
            }
            if (eof) {
                if (finished()) {
                    co_return;
                }
                // Everything is sent: wait for the acks until the flush deadline.
                timer.expires_at(*flush_deadline());
                co_await timer.async_wait(use_tuple);
                co_return;
            }
            auto [wec] = co_await wake_.async_receive(use_tuple);
            if (wec) {
                co_return;
            }
        }
    }

    asio::awaitable<void> ack_loop(tcp::socket& socket) {
        asio::streambuf input(4096);
        for (;;) {
            if (finished()) {
                co_return;
            }
            auto [ec, n] = co_await asio::async_read_until(socket, input, '\n', use_tuple);
            if (ec) {
                if (ec != asio::error::eof) {
                    log_.warn("hm-plugin lost the gateway connection", {{"error", ec.message()}});
                } else if (sent_ == 0) {
                    log_.info("hm-plugin: the gateway closed an idle connection", {});
                } else {
                    log_.warn("hm-plugin: the gateway closed the connection", {});
                }
                co_return;
            }
            std::string text(asio::buffers_begin(input.data()),
                             asio::buffers_begin(input.data()) + static_cast<std::ptrdiff_t>(n));
            input.consume(n);
            std::uint64_t ack = 0;
            bool valid = text.size() > 1;
            for (std::size_t i = 0; i + 1 < text.size(); ++i) {
                if (text[i] < '0' || text[i] > '9') {
                    valid = false;
                    break;
                }
                ack = ack * 10 + static_cast<std::uint64_t>(text[i] - '0');
            }
            if (!valid || ack < acked_ || ack - acked_ > sent_) {
                log_.error("hm-plugin: unexpected acknowledgement from the gateway",
                           {{"line", text.substr(0, 64)}});
                co_return;
            }
            const std::size_t done = static_cast<std::size_t>(ack - acked_);
            {
                const std::lock_guard lock(mutex_);
                for (std::size_t i = 0; i < done; ++i) {
                    buffered_bytes_ -= buffer_.front().size();
                    buffer_.pop_front();
                }
                delivered_ += done;
            }
            sent_ -= done;
            acked_ = ack;
        }
    }

    const hm_plugin_options& options_;
    core::logger& log_;
    asio::io_context io_;
    asio::experimental::concurrent_channel<void(boost::system::error_code)> wake_;

    std::mutex mutex_;  // guards the buffer and counters shared with the reader thread
    std::deque<std::string> buffer_;
    std::size_t buffered_bytes_ = 0;
    bool eof_ = false;
    std::optional<clock::time_point> eof_seen_at_;
    std::uint64_t read_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t dropped_ = 0;
    clock::time_point last_drop_log_{};

    // io thread only: per connection, lines written from the buffer's front and acks seen.
    std::size_t sent_ = 0;
    std::uint64_t acked_ = 0;
};

}  // namespace

int run_hm_plugin(const hm_plugin_options& options, core::logger& log, hm_plugin_totals* totals) {
    plugin p(options, log);
    return p.run(totals);
}

}  // namespace mgw::bosh
