// One RSocket client connection: three coroutines on the connection's strand (reader, writer,
// keepalive), raced so that the first to end (transport gone, protocol error, silence) ends all.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How long a connection closed for a protocol error may take to send its ERROR frame.
constexpr std::chrono::seconds close_flush_time{2};
}  // namespace

std::string_view to_string(scrape_outcome outcome) {
    switch (outcome) {
        case scrape_outcome::success:
            return "success";
        case scrape_outcome::timeout:
            return "timeout";
        case scrape_outcome::closed:
            return "closed";
        case scrape_outcome::error:
            return "error";
        case scrape_outcome::decrypt:
            return "decrypt";
        case scrape_outcome::busy:
            return "busy";
    }
    return "unknown";
}

struct connection::waiter {
    asio::steady_timer timer;
    bool answered = false;
    bool is_error = false;
    std::uint32_t error = 0;
    std::string metadata;
    std::string data;
};

connection::connection(strand_type strand, std::unique_ptr<transport> transport, key_pool& keys,
                       connection_options options, connection_observer& observer, std::uint64_t id)
    : strand_(std::move(strand)),
      transport_(std::move(transport)),
      keys_(keys),
      peer_(fairness_key(transport_->remote_address())),
      options_([&] {
          options.limits.length_prefixed = transport_->length_prefixed();
          return options;
      }()),
      observer_(observer),
      id_(id),
      state_(options_.limits, clock::now()),
      write_signal_(strand_) {}

connection::~connection() = default;

asio::awaitable<void> connection::run() {
    using namespace asio::experimental::awaitable_operators;
    auto self = shared_from_this();
    co_await (read_loop() || write_loop() || keepalive_loop());
    stopping_ = true;
    if (key_ticket_) {
        // Still queued: the key pair goes to someone else.
        keys_.cancel(*key_ticket_);
        key_ticket_.reset();
    }
    transport_->close();
    wake_waiters();
    observer_.connection_closed(*this, std::move(last_push_));
    last_push_.reset();
}

void connection::stop() {
    asio::post(strand_, [self = shared_from_this()] {
        self->stopping_ = true;
        self->transport_->close();
    });
}

void connection::fail(std::string_view reason) {
    if (!failed_ && !stopping_) {
        failed_ = true;
        observer_.connection_failed(*this, reason);
    }
}

void connection::send(std::string bytes) {
    if (bytes.empty() || failed_) {
        return;
    }
    if (outbound_bytes_ + bytes.size() > options_.max_outbound_bytes) {
        // The client does not read what we send: nothing will get better.
        fail("outbound_overflow");
        transport_->close();
        return;
    }
    outbound_bytes_ += bytes.size();
    outbound_.push_back(std::move(bytes));
    write_signal_.cancel();
}

void connection::send_all(std::vector<std::string>& frames) {
    for (std::string& f : frames) {
        send(std::move(f));
    }
    frames.clear();
}

void connection::wake_waiters() {
    for (auto& [id, w] : waiters_) {
        w->timer.cancel();
    }
}

asio::awaitable<void> connection::read_loop() {
    std::string buffer;
    std::vector<std::string> out;
    for (;;) {
        const error_code ec = co_await transport_->read_frame(buffer);
        if (ec == boost::system::errc::message_size) {
            std::string bytes;
            state_.error(0, errors::connection_error, "frame too large", bytes);
            send(std::move(bytes));
            fail("frame_too_large");
            break;
        }
        if (ec) {
            if (!stopping_ && ec != asio::error::eof && ec != asio::error::connection_reset &&
                ec != asio::error::operation_aborted) {
                fail("transport");
            }
            co_return;
        }
        const connection_state::event e = state_.on_frame(buffer, clock::now(), out);
        send_all(out);
        using kind = connection_state::event_kind;
        if (e.kind == kind::setup) {
            setup_metadata_.assign(e.metadata);
            setup_data_.assign(e.data);
            request_key();
            if (failed_) {
                break;
            }
        } else if (e.kind == kind::response || e.kind == kind::stream_error) {
            const auto found = waiters_.find(e.stream_id);
            if (found != waiters_.end()) {
                waiter& w = *found->second;
                w.answered = true;
                w.is_error = e.kind == kind::stream_error;
                w.error = e.error;
                w.metadata.assign(e.metadata);
                w.data.assign(e.data);
                w.timer.cancel();
            }
        } else if (e.kind == kind::push) {
            handle_push(e);
        } else if (e.kind == kind::close) {
            if (!e.counter.empty()) {
                fail(e.counter);
            }
            break;
        }
    }
    // Let the writer send the ERROR frame; it ends the connection when the queue is empty.
    closing_ = true;
    write_signal_.cancel();
    asio::steady_timer flush(strand_, close_flush_time);
    co_await flush.async_wait(use_tuple);
}

asio::awaitable<void> connection::write_loop() {
    for (;;) {
        while (!outbound_.empty()) {
            const std::string bytes = std::move(outbound_.front());
            outbound_.pop_front();
            outbound_bytes_ -= bytes.size();
            const error_code ec = co_await transport_->write_frame(bytes);
            if (ec) {
                if (!stopping_ && !closing_) {
                    fail("transport");
                }
                co_return;
            }
        }
        if (closing_ || stopping_) {
            co_return;
        }
        write_signal_.expires_at(clock::time_point::max());
        co_await write_signal_.async_wait(use_tuple);
        if ((co_await asio::this_coro::cancellation_state).cancelled() !=
            asio::cancellation_type::none) {
            co_return;
        }
    }
}

asio::awaitable<void> connection::keepalive_loop() {
    asio::steady_timer timer(strand_);
    // Polled, so the keepalive period starts as soon as SETUP arrives.
    const auto setup_deadline = clock::now() + options_.setup_timeout;
    while (!state_.setup_done()) {
        if (clock::now() >= setup_deadline) {
            fail("setup_timeout");
            co_return;
        }
        timer.expires_after(std::chrono::milliseconds(100));
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec) {
            co_return;
        }
    }
    for (;;) {
        // Check silence at least once a second, so a short max lifetime is enforced on time.
        const auto step = std::min<std::chrono::milliseconds>(state_.keepalive_interval(),
                                                              std::chrono::seconds(1));
        const auto next_keepalive = clock::now() + state_.keepalive_interval();
        while (clock::now() < next_keepalive) {
            timer.expires_after(std::min<clock::duration>(step, next_keepalive - clock::now()));
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec) {
                co_return;
            }
            if (state_.silent_too_long(clock::now())) {
                fail("keepalive_timeout");
                co_return;
            }
        }
        std::string bytes;
        state_.keepalive(bytes);
        send(std::move(bytes));
    }
}

void connection::request_key() {
    // The reader goes on meanwhile: keepalives are answered and a peer that leaves is seen, so
    // its queued request is cancelled (in run()) instead of costing a key pair.
    key_pool::grant grant =
        keys_.request(peer_, [weak = weak_from_this(), strand = strand_](key_pair key) {
            asio::post(strand, [weak, key = std::move(key)]() mutable {
                if (auto self = weak.lock()) {
                    self->take_key(std::move(key));
                }
            });
        });
    if (grant.key) {
        take_key(std::move(*grant.key));
    } else if (grant.kind == key_grant::queued) {
        key_ticket_ = grant.ticket;
    } else {
        std::string bytes;
        state_.error(0, errors::rejected_setup, "too many connections waiting for a key", bytes);
        send(std::move(bytes));
        fail("key_queue_full");
    }
}

void connection::take_key(key_pair key) {
    key_ticket_.reset();
    if (stopping_ || failed_ || closing_ || key_) {
        return;
    }
    key_ = std::move(key);
    std::string bytes;
    state_.start_request(frame_type::request_fnf, key_->public_key_der(), bytes);
    send(std::move(bytes));
    observer_.connection_ready(shared_from_this());
}

void connection::handle_push(const connection_state::event& e) {
    std::string text;
    decrypt_error error = decrypt_error::key_unwrap;
    if (key_) {
        error = decrypt_reply(*key_, e.metadata, e.data, options_.max_text_bytes, text);
    }
    if (error == decrypt_error::none) {
        last_push_ = std::move(text);
        observer_.connection_pushed(*this, true, {});
    } else {
        observer_.connection_pushed(*this, false, to_string(error));
    }
    if (e.needs_ack) {
        // The original acknowledges even a push it could not decrypt.
        std::string bytes;
        state_.push_ack(e.stream_id, bytes);
        send(std::move(bytes));
    }
}

asio::awaitable<scrape_answer> connection::scrape(clock::time_point deadline) {
    scrape_answer answer;
    if (stopping_ || failed_ || closing_ || !key_) {
        answer.reason = "closed";
        co_return answer;
    }
    std::string bytes;
    const std::uint32_t id =
        state_.start_request(frame_type::request_response, key_->public_key_der(), bytes);
    if (id == 0) {
        answer.outcome = scrape_outcome::busy;
        answer.reason = "busy";
        co_return answer;
    }
    waiter w{.timer = asio::steady_timer(strand_, deadline),
             .answered = false,
             .is_error = false,
             .error = 0,
             .metadata = {},
             .data = {}};
    waiters_[id] = &w;
    send(std::move(bytes));
    co_await w.timer.async_wait(use_tuple);
    waiters_.erase(id);
    if (!w.answered) {
        if (stopping_ || failed_ || closing_) {
            answer.reason = "closed";
            co_return answer;
        }
        std::string cancel;
        state_.end_request(id, true, cancel);
        send(std::move(cancel));
        answer.outcome = scrape_outcome::timeout;
        answer.reason = "timeout";
        co_return answer;
    }
    if (w.is_error) {
        answer.outcome = scrape_outcome::error;
        answer.reason = fmt::format("error_0x{:03x}", w.error);
        co_return answer;
    }
    const decrypt_error error =
        decrypt_reply(*key_, w.metadata, w.data, options_.max_text_bytes, answer.text);
    if (error != decrypt_error::none) {
        answer.outcome = scrape_outcome::decrypt;
        answer.reason = to_string(error);
        answer.text.clear();
        co_return answer;
    }
    answer.outcome = scrape_outcome::success;
    co_return answer;
}

}  // namespace mgw::rsocket
