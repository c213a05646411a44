// One BatchSender call per connection: any end of the call ends the connection, and the next
// one starts afresh with what came back unwritten. Batches handed to the connection are
// confirmed in order (the core counts messages whose last byte was written), so a FIFO of
// in-flight batches tells which were sent; those reported undelivered are found by identity.
// The agent's answer is parsed with the messages protoc generated from ingress.proto.
#include "emitter_core.hpp"

#include <algorithm>
#include <loggregator-api/v2/ingress.pb.h>

namespace mgw::loggregator {

namespace {

constexpr std::array<std::string_view, send_error_count> error_names{"connect", "tls", "call",
                                                                     "connection"};

// How long a send refused by the memory budget waits before it is tried again.
constexpr auto memory_retry = std::chrono::milliseconds(100);

}  // namespace

std::string_view to_string(send_error error) {
    return error_names.at(static_cast<std::size_t>(error));
}

emitter_core::emitter_core(emitter_core_options options, envelope_queue& queue,
                           clock::time_point now)
    : options_(options),
      queue_(queue),
      backoff_(options.backoff, options.seed),
      next_attempt_(now),
      now_(now) {}

void emitter_core::attempting() {
    if (attempted_) {
        ++counters_.reconnects;
    }
    attempted_ = true;
}

void emitter_core::fail(send_error error, clock::time_point now, bool stable) {
    ++counters_.send_errors[static_cast<std::size_t>(error)];
    last_error_ = error;
    if (stable) {
        backoff_.reset();
    }
    retry_delay_ = backoff_.next();
    next_attempt_ = now + retry_delay_;
}

void emitter_core::connect_failed(grpc::client_failure failure, clock::time_point now) {
    const bool tls = failure == grpc::client_failure::tls || failure == grpc::client_failure::alpn;
    fail(tls ? send_error::tls : send_error::connect, now, false);
}

void emitter_core::on_open(grpc::connection& conn, clock::time_point now) {
    now_ = now;
    opened_ = true;
    opened_at_ = now;
    ++counters_.connections;
    confirmed_ = conn.counters().messages_sent;
    send_closed_ = false;
    goaway_ = false;
    call_ended_ = false;
    call_status_.reset();
    call_message_.clear();
    blocked_ = false;
    retry_send_at_.reset();
    stream_ = conn.start_call(method, {}, std::nullopt, now);
    if (!stream_) {
        call_ended_ = true;
        call_status_ = grpc::status_code::unavailable;
        call_message_ = "BatchSender could not be opened";
        return;
    }
    fill(conn, now);
}

bool emitter_core::batch_due(clock::time_point now) const {
    if (draining_ || goaway_ || queue_.queued_envelopes() >= options_.batch_size) {
        return true;
    }
    const auto oldest = queue_.oldest();
    return oldest && now - *oldest >= options_.batch_interval;
}

void emitter_core::fill(grpc::connection& conn, clock::time_point now) {
    if (!stream_ || call_ended_ || send_closed_ || blocked_) {
        return;
    }
    if (retry_send_at_) {
        if (now < *retry_send_at_) {
            return;
        }
        retry_send_at_.reset();
    }
    for (;;) {
        batch_ptr b;
        const bool requeued = !requeued_.empty();
        if (requeued) {
            b = requeued_.front();
        } else if (batch_due(now)) {
            b = queue_.take_batch(options_.batch_size, options_.max_batch_bytes);
        }
        if (!b) {
            break;
        }
        const grpc::send_result result = conn.send_message(*stream_, b->message(b));
        if (result == grpc::send_result::queued) {
            if (requeued) {
                requeued_.pop_front();
            }
            queue_.release(*b);  // the connection's lease covers it now
            in_flight_.push_back(std::move(b));
            continue;
        }
        if (!requeued) {
            requeued_.push_front(std::move(b));
        }
        if (result == grpc::send_result::memory) {
            retry_send_at_ = now + memory_retry;
        } else {
            blocked_ = true;  // full: stream_writable comes; closed: the call is ending
        }
        break;
    }
    // Drain (ours or the agent's GOAWAY): once everything is with the connection, END_STREAM
    // follows the last batch and the agent answers when it has read them all.
    if ((draining_ || goaway_) && requeued_.empty() && queue_.queued_envelopes() == 0) {
        conn.close_send(*stream_);
        send_closed_ = true;
    }
}

void emitter_core::confirm_written(grpc::connection& conn) {
    const std::uint64_t sent = conn.counters().messages_sent;
    while (confirmed_ < sent && !in_flight_.empty()) {
        const batch& b = *in_flight_.front();
        for (std::size_t s = 0; s < source_count; ++s) {
            counters_.envelopes_sent[s] += b.envelopes[s];
        }
        ++counters_.batches_sent;
        in_flight_.pop_front();
        ++confirmed_;
    }
    confirmed_ = sent;
}

void emitter_core::take_back(std::vector<grpc::outgoing_message>& messages) {
    std::vector<batch_ptr> back;
    for (grpc::outgoing_message& m : messages) {
        auto b = std::static_pointer_cast<const batch>(m.owner);
        const auto it = std::find(in_flight_.begin(), in_flight_.end(), b);
        if (it == in_flight_.end()) {
            continue;  // not ours (cannot happen: one call per connection)
        }
        in_flight_.erase(it);
        if (queue_.reacquire(*b)) {
            back.push_back(std::move(b));
        }
    }
    requeued_.insert(requeued_.begin(), back.begin(), back.end());
}

void emitter_core::on_progress(grpc::connection& conn, std::vector<grpc::event>& events,
                               clock::time_point now) {
    now_ = now;
    // Written first: a message confirmed by this step is not also reported undelivered.
    confirm_written(conn);
    for (grpc::event& e : events) {
        if (auto* undelivered = std::get_if<grpc::messages_undelivered>(&e)) {
            take_back(undelivered->messages);
        } else if (auto* finished = std::get_if<grpc::call_finished>(&e)) {
            if (stream_ && finished->stream == *stream_ && !call_ended_) {
                call_ended_ = true;
                call_status_ = finished->status;
                call_message_ = std::move(finished->message);
                if (send_closed_ && finished->status == grpc::status_code::ok && draining_) {
                    drain_done_ = true;
                }
            }
        } else if (auto* message = std::get_if<grpc::message_received>(&e)) {
            // BatchSenderResponse is empty; anything else from the agent is not an answer.
            ::loggregator::v2::BatchSenderResponse response;
            if (!response.ParseFromString(message->payload)) {
                call_message_ = "the agent's answer is not a BatchSenderResponse";
            }
        } else if (std::holds_alternative<grpc::stream_writable>(e)) {
            blocked_ = false;
        } else if (std::holds_alternative<grpc::goaway_received>(e)) {
            // The agent is going away: what is queued goes on this call, which is then
            // finished cleanly (fill), and the next connection takes the rest.
            goaway_ = true;
        }
    }
    events.clear();
    fill(conn, now);
}

clock::time_point emitter_core::next_timer() const {
    if (!stream_ || call_ended_ || send_closed_ || blocked_) {
        return clock::time_point::max();
    }
    if (retry_send_at_) {
        return *retry_send_at_;
    }
    if (!requeued_.empty() || draining_ || goaway_ ||
        queue_.queued_envelopes() >= options_.batch_size) {
        return now_;
    }
    const auto oldest = queue_.oldest();
    return oldest ? *oldest + options_.batch_interval : clock::time_point::max();
}

bool emitter_core::wants_close() const {
    return call_ended_;
}

void emitter_core::connection_ended(const grpc::client_outcome& outcome, clock::time_point now) {
    const bool was_open = opened_;
    const bool stable = was_open && now - opened_at_ >= options_.stable_after;
    // The core reports every unconfirmed message at transport loss; anything left is defensive.
    for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
        if (queue_.reacquire(**it)) {
            requeued_.push_front(*it);
        }
    }
    in_flight_.clear();
    opened_ = false;
    stream_.reset();
    blocked_ = false;
    retry_send_at_.reset();
    if (drain_done_) {
        return;
    }
    if (!outcome.ok()) {
        const bool tls = outcome.failure == grpc::client_failure::tls ||
                         outcome.failure == grpc::client_failure::alpn;
        fail(tls ? send_error::tls : send_error::connection, now, stable);
        return;
    }
    // We closed it because the call ended: after the agent's GOAWAY with OK that is a normal
    // rotation, anything else an error.
    if (goaway_ && call_status_ == grpc::status_code::ok) {
        backoff_.reset();
        retry_delay_ = backoff_.next();
        next_attempt_ = now + retry_delay_;
        return;
    }
    fail(send_error::call, now, stable);
}

void emitter_core::begin_drain() {
    draining_ = true;
}

bool emitter_core::drained() const {
    return draining_ && queue_.queued_envelopes() == 0 && requeued_.empty() && in_flight_.empty() &&
           (!opened_ || drain_done_);
}

std::size_t emitter_core::abandon() {
    std::size_t lost = queue_.drop_queued(drop_reason::shutdown);
    for (const batch_ptr& b : requeued_) {
        queue_.drop(*b, drop_reason::shutdown);
        lost += b->count();
    }
    requeued_.clear();
    for (const batch_ptr& b : in_flight_) {
        queue_.count_lost(*b, drop_reason::shutdown);
        lost += b->count();
    }
    in_flight_.clear();
    return lost;
}

}  // namespace mgw::loggregator
