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
// A read buffer grown past this for a large frame is given back once the frame is handled.
constexpr std::size_t kept_read_buffer_bytes = 4096;
// What a SETUP payload may be kept of: enough to read a proof and to tell an oversized one.
constexpr std::size_t kept_setup_bytes = 4097;
// Snappy's densest element (a 3-byte copy of 64 bytes) bounds what a block decompresses to.
constexpr std::size_t snappy_max_expansion = 22;

std::string_view refusal_message(memory_refusal refusal) {
    return refusal == memory_refusal::connection ? "connection byte budget exhausted"
                                                 : "memory budget exhausted";
}

std::string_view refusal_counter(memory_refusal refusal) {
    return refusal == memory_refusal::connection ? "connection_bytes" : "memory";
}

// The FOLLOWS flag, read from an undecoded frame: only fragments need reassembly room.
bool is_fragment(std::string_view frame) {
    return frame.size() >= header_bytes && (static_cast<unsigned char>(frame[5]) & 0x80) != 0;
}

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
        case scrape_outcome::memory:
            return "memory";
    }
    return "unknown";
}

struct connection::waiter {
    asio::steady_timer timer;
    held_bytes reply_bytes;  // the copies below
    bool answered = false;
    bool is_error = false;
    bool refused = false;  // the reply would not fit the byte budgets: not copied
    std::uint32_t error = 0;
    std::string metadata;
    std::string data;
};

connection::connection(strand_type strand, std::unique_ptr<transport> transport, key_pool& keys,
                       connection_options options, connection_observer& observer, std::uint64_t id,
                       core::memory_budget* budget)
    : strand_(std::move(strand)),
      memory_(budget, options.max_connection_bytes),
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
      frame_bytes_(memory_, core::memory_use::rsocket_frames),
      reassembly_bytes_(memory_, core::memory_use::rsocket_frames),
      outbound_bytes_(memory_, core::memory_use::rsocket_frames),
      write_signal_(strand_),
      last_push_bytes_(memory_, core::memory_use::rsocket_pushes) {}

connection::~connection() = default;

asio::awaitable<void> connection::run() {
    using namespace asio::experimental::awaitable_operators;
    auto self = shared_from_this();
    co_await (read_loop() || write_loop() || keepalive_loop());
    if (refused_) {
        co_await transport_->linger(close_flush_time);
    }
    stopping_ = true;
    if (key_ticket_) {
        // Still queued: the key pair goes to someone else.
        keys_.cancel(*key_ticket_);
        key_ticket_.reset();
    }
    transport_->close();
    wake_waiters();
    std::optional<leased_text> push;
    if (last_push_) {
        push = leased_text{.text = std::move(*last_push_), .lease = last_push_bytes_.detach()};
        last_push_.reset();
    }
    observer_.connection_closed(*this, std::move(push));
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

void connection::refuse(std::string_view message, std::string_view counter) {
    if (closing_ || failed_) {
        return;
    }
    std::string bytes;
    state_.error(0, errors::connection_error, message, bytes);
    // The ERROR frame is the one thing still sent past the budgets: a few dozen bytes.
    outbound_size_ += bytes.size();
    outbound_.push_back(std::move(bytes));
    fail(counter);
    refused_ = true;
    // The writer sends what is queued, then ends, and with it the connection.
    closing_ = true;
    write_signal_.cancel();
}

bool connection::frame_overdue(clock_type::time_point now) const {
    const std::optional<clock_type::time_point> begun = transport_->frame_begun();
    return begun && now - *begun >= options_.frame_timeout;
}

void connection::send(std::string bytes) {
    if (bytes.empty() || failed_) {
        return;
    }
    if (outbound_size_ + bytes.size() > options_.max_outbound_bytes) {
        // The client does not read what we send: nothing will get better.
        fail("outbound_overflow");
        transport_->close();
        return;
    }
    if (const memory_refusal refusal = outbound_bytes_.reserve(outbound_size_ + bytes.size());
        refusal != memory_refusal::none) {
        fail(refusal_counter(refusal));
        transport_->close();
        return;
    }
    outbound_size_ += bytes.size();
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
    std::vector<std::string> out;
    for (;;) {
        const error_code ec = co_await transport_->read_frame(frame_, frame_bytes_);
        if (ec == boost::system::errc::message_size) {
            refuse("frame too large", "frame_too_large");
            break;
        }
        if (ec == boost::system::errc::not_enough_memory) {
            const memory_refusal refusal = frame_bytes_.last_refusal();
            refuse(refusal_message(refusal), refusal_counter(refusal));
            break;
        }
        if (ec) {
            if (!stopping_ && ec != asio::error::eof && ec != asio::error::connection_reset &&
                ec != asio::error::operation_aborted) {
                fail("transport");
            }
            co_return;
        }
        // A fragment is copied into the reassembler: room for it first.
        if (state_.setup_done() && (is_fragment(frame_) || state_.reassembly_bytes() != 0)) {
            if (const memory_refusal refusal =
                    reassembly_bytes_.reserve(state_.reassembly_bytes() + frame_.size());
                refusal != memory_refusal::none) {
                refuse(refusal_message(refusal), refusal_counter(refusal));
                break;
            }
        }
        const connection_state::event e = state_.on_frame(frame_, clock::now(), out);
        send_all(out);
        using kind = connection_state::event_kind;
        bool end = false;
        if (e.kind == kind::setup) {
            setup_metadata_.assign(e.metadata.substr(0, kept_setup_bytes));
            setup_data_.assign(e.data.substr(0, kept_setup_bytes));
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
                if (w.reply_bytes.reserve(e.metadata.size() + e.data.size()) ==
                    memory_refusal::none) {
                    w.metadata.assign(e.metadata);
                    w.data.assign(e.data);
                } else {
                    w.refused = true;
                }
                w.timer.cancel();
            }
        } else if (e.kind == kind::push) {
            handle_push(e);
        } else if (e.kind == kind::close) {
            if (!e.counter.empty()) {
                fail(e.counter);
            }
            end = true;
        }
        // The handled message's copies go; so does a read buffer grown for a large frame.
        state_.release_reassembled();
        reassembly_bytes_.fit(state_.reassembly_bytes());
        if (frame_.capacity() > kept_read_buffer_bytes) {
            std::string().swap(frame_);
            frame_bytes_.release();
        }
        if (end) {
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
            const error_code ec = co_await transport_->write_frame(bytes);
            outbound_size_ -= bytes.size();
            outbound_bytes_.fit(outbound_size_);
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
            // A frame begun and not finished: the reader still waits for it, the writer can
            // tell the client why the connection ends.
            if (frame_overdue(clock::now())) {
                refuse(fmt::format("frame incomplete after {} ms", options_.frame_timeout.count()),
                       "frame_timeout");
                // Ending here would end the writer too: it ends the connection once flushed.
                timer.expires_after(close_flush_time);
                co_await timer.async_wait(use_tuple);
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
    if (stopping_ || failed_ || closing_ || decryptor_) {
        return;
    }
    decryptor_.emplace(std::move(key));
    std::string bytes;
    state_.start_request(frame_type::request_fnf, decryptor_->key().public_key_der(), bytes);
    send(std::move(bytes));
    observer_.connection_ready(shared_from_this());
}

std::optional<std::string_view> connection::open_payload(std::string_view metadata,
                                                         std::string_view data, held_bytes& bytes,
                                                         std::string& text) {
    if (!decryptor_) {
        return to_string(decrypt_error::key_unwrap);
    }
    // The decrypted block (data's size) and the text, whose size Snappy's header announces:
    // reserved for the most the data can decompress to before anything is allocated. A
    // header announcing more is a lie that would fail anyway; it fails here as too_large.
    const bool plaintext = metadata == plaintext_marker;
    const std::size_t text_bound = std::min(
        options_.max_text_bytes, plaintext ? data.size() : data.size() * snappy_max_expansion + 64);
    if (bytes.reserve(data.size() + text_bound) != memory_refusal::none) {
        return to_string(scrape_outcome::memory);
    }
    const decrypt_error error = decryptor_->decrypt(metadata, data, text_bound, text);
    if (error != decrypt_error::none) {
        text.clear();
        text.shrink_to_fit();
        bytes.release();
        return to_string(error);
    }
    bytes.fit(text.capacity() + 1);
    return std::nullopt;
}

void connection::handle_push(const connection_state::event& e) {
    std::string text;
    held_bytes text_bytes(memory_, core::memory_use::rsocket_pushes);
    if (const auto failure = open_payload(e.metadata, e.data, text_bytes, text)) {
        observer_.connection_pushed(*this, false, *failure);
    } else {
        // Replaces an earlier push, and its bytes.
        last_push_ = std::move(text);
        last_push_bytes_ = std::move(text_bytes);
        observer_.connection_pushed(*this, true, {});
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
    if (stopping_ || failed_ || closing_ || !decryptor_) {
        answer.reason = "closed";
        co_return answer;
    }
    std::string bytes;
    const std::uint32_t id = state_.start_request(frame_type::request_response,
                                                  decryptor_->key().public_key_der(), bytes);
    if (id == 0) {
        answer.outcome = scrape_outcome::busy;
        answer.reason = "busy";
        co_return answer;
    }
    waiter w{.timer = asio::steady_timer(strand_, deadline),
             .reply_bytes = held_bytes(memory_, core::memory_use::rsocket_pulls),
             .answered = false,
             .is_error = false,
             .refused = false,
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
        answer.reason = error_code_name(w.error);
        co_return answer;
    }
    if (w.refused) {
        answer.outcome = scrape_outcome::memory;
        answer.reason = to_string(scrape_outcome::memory);
        co_return answer;
    }
    held_bytes text_bytes(memory_, core::memory_use::rsocket_pulls);
    const auto failure = open_payload(w.metadata, w.data, text_bytes, answer.text.text);
    if (failure) {
        answer.outcome = *failure == to_string(scrape_outcome::memory) ? scrape_outcome::memory
                                                                       : scrape_outcome::decrypt;
        answer.reason = *failure;
        co_return answer;
    }
    answer.outcome = scrape_outcome::success;
    answer.text.lease = text_bytes.detach();
    co_return answer;
}

}  // namespace mgw::rsocket
