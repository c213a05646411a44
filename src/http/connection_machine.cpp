// The connection's decisions, event by event. Every method runs on the connection's strand;
// none does I/O, so the tests drive it with bytes and clock values of their choosing.
#include "connection_machine.hpp"

#include <algorithm>
#include <utility>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

namespace mgw::http {

namespace {

namespace beast_http = boost::beast::http;

// How long a connection that answered its last response drains what the client still sends,
// so that the close does not become a reset that destroys the response in the client's buffer.
constexpr auto linger_time = std::chrono::milliseconds(500);

rejection rejection_of(request_refusal refusal) {
    switch (refusal) {
        case request_refusal::bad_request:
            return rejection::bad_request;
        case request_refusal::header_too_large:
            return rejection::header_too_large;
        case request_refusal::body_too_large:
            return rejection::body_too_large;
        case request_refusal::not_implemented:
            return rejection::not_implemented;
        case request_refusal::version_not_supported:
            return rejection::version_not_supported;
    }
    return rejection::bad_request;
}

http::status status_of(rejection reason) {
    switch (reason) {
        case rejection::header_too_large:
            return http::status::request_header_fields_too_large;
        case rejection::body_too_large:
            return http::status::payload_too_large;
        case rejection::not_implemented:
            return http::status::not_implemented;
        case rejection::version_not_supported:
            return http::status::http_version_not_supported;
        case rejection::memory:
        case rejection::request_timeout:
        case rejection::write_timeout:
        case rejection::too_many_connections:
            return http::status::service_unavailable;
        case rejection::bad_request:
            break;
    }
    return http::status::bad_request;
}

clock::time_point after(clock::time_point now, clock::duration timeout) {
    return timeout == clock::duration::zero() ? clock::time_point::max() : now + timeout;
}

}  // namespace

connection_machine::connection_machine(const server_options& options, const router& routes,
                                       core::memory_budget* memory, clock::time_point now)
    : options_(options),
      routes_(routes),
      reader_({.header_limit = options.header_limit}),
      idle_deadline_(now + options.idle_timeout) {
    if (memory != nullptr) {
        request_lease_ = memory->empty_lease(core::memory_use::request_bodies);
        answer_lease_ = memory->empty_lease(core::memory_use::http_answer);
    }
}

// ---- the reader -------------------------------------------------------------------------

connection_machine::read_action connection_machine::next_read(clock::time_point now) {
    if (closed_) {
        stop_reading();
    }
    if (!reader_stopped_ && !continue_pending_) {
        advance(now);  // what an earlier read brought may hold whole requests already
        note_head_started(now);
    }
    if (reader_stopped_) {
        return read_action::stop;
    }
    if (continue_pending_) {
        return read_action::send_continue;
    }
    if (!reader_.mid_request() && queue_full()) {
        return read_action::wait;
    }
    // Between requests a buffer that grew for a large one is given back (only here: once a
    // read is pending, the socket writes into it).
    if (!reader_.mid_request()) {
        reader_.release_idle_buffer();
    }
    // The buffer grows for the next read before anything is read into it: leased first.
    static_cast<void>(reader_.prepare());
    if (!lease_held()) {
        refuse(rejection::memory, now);
        return read_action::stop;
    }
    return read_action::read;
}

effects connection_machine::on_read(std::size_t bytes, boost::system::error_code ec,
                                    clock::time_point now) {
    effects fx;
    reader_.commit(bytes);
    if (ec) {
        if (!reader_stopped_) {
            // The client went away (or the socket was closed under the read): whatever it
            // asked for is moot.
            peer_gone_ = true;
            pending_.reset();
            reading_deadline_.reset();
            stop_reading();
            if (handler_running_) {
                fx.cancel = boost::asio::cancellation_type::terminal;
            }
        }
        return fx;
    }
    advance(now);
    note_head_started(now);
    return fx;
}

effects connection_machine::on_continue_written(boost::system::error_code ec) {
    continue_pending_ = false;
    effects fx;
    if (ec && !reader_stopped_) {
        peer_gone_ = true;
        pending_.reset();
        reading_deadline_.reset();
        stop_reading();
    }
    return fx;
}

void connection_machine::advance(clock::time_point now) {
    while (!reader_stopped_ && !continue_pending_) {
        if (!reader_.mid_request()) {
            if (draining_ || closed_) {
                stop_reading();
                return;
            }
            if (queue_full()) {
                return;
            }
        }
        switch (reader_.parse()) {
            case request_reader::status::need_more:
                if (!lease_held()) {
                    refuse(rejection::memory, now);
                }
                return;
            case request_reader::status::head:
                on_head(now);
                break;
            case request_reader::status::complete:
                // A chunked body grew while it was read: what it holds is leased before it
                // joins the queue.
                if (!lease_held()) {
                    refuse(rejection::memory, now);
                    return;
                }
                on_complete();
                break;
            case request_reader::status::refused:
                refuse(rejection_of(reader_.refusal()), now);
                return;
        }
    }
}

bool connection_machine::head_in_progress() const {
    return !reader_stopped_ && !pending_ && reader_.mid_request();
}

// A head's first byte starts its request: the whole head must arrive within the request's
// deadline (http.request_timeout), however it is trickled. Only the idle deadline (set when the
// connection became idle) would let a slowloris client hold the connection for all of
// http.idle_timeout, and keep it forever were each byte to move it.
void connection_machine::note_head_started(clock::time_point now) {
    if (!head_in_progress()) {
        head_deadline_.reset();
    } else if (!head_deadline_) {
        head_deadline_ = after(now, options_.request_timeout);
    }
}

void connection_machine::on_head(clock::time_point now) {
    head_deadline_.reset();
    exchange& x = pending_.emplace();
    x.started = now;
    const request_head& head = reader_.head();
    auto target = parse_request_target(head.target());
    if (!target) {
        refuse(rejection::bad_request, now);
        return;
    }
    x.target = std::move(*target);
    x.match = routes_.match(head.method(), x.target.path);
    std::size_t body_limit = options_.body_limit;
    clock::duration timeout = options_.request_timeout;
    if (x.match.route != nullptr) {
        body_limit = x.match.route->options.body_limit.value_or(body_limit);
        timeout = x.match.route->options.request_timeout.value_or(timeout);
    }
    x.deadline = after(now, timeout);
    if (reader_.has_body()) {
        const std::optional<std::uint64_t> length = reader_.content_length();
        if (length && *length > body_limit) {
            refuse(rejection::body_too_large, now);
            return;
        }
        // Beast reserves a declared body whole before reading it: leased first.
        if (!lease_held(length.value_or(0))) {
            refuse(rejection::memory, now);
            return;
        }
        const auto expect = head[beast_http::field::expect];
        // Answered only when nothing else is being written; otherwise the client sends the
        // body after its own short wait, as RFC 9110 §10.1.1 allows.
        if (!expect.empty() && boost::beast::iequals(expect, "100-continue") && queue_.empty() &&
            head.version() >= 11) {
            continue_pending_ = true;
        }
        // A stream's route has no deadline, but its request body still has one.
        reading_deadline_ =
            timeout == clock::duration::zero() ? now + options_.request_timeout : x.deadline;
    }
    reader_.read_body(body_limit);
}

void connection_machine::on_complete() {
    exchange& x = *pending_;
    const std::size_t head_bytes = reader_.head_bytes();
    x.request = reader_.take();
    x.keep_alive = x.request.keep_alive();
    x.bytes = head_bytes + x.request.body().capacity();
    queued_bytes_ += x.bytes;
    reading_deadline_.reset();
    const bool more = x.keep_alive;
    queue_.push_back(std::move(x));
    pending_.reset();
    if (!more) {
        stop_reading();
    }
}

void connection_machine::refuse(rejection reason, clock::time_point now) {
    exchange x;
    if (pending_) {
        x = std::move(*pending_);
        pending_.reset();
        // The route's on_refused reads the refused request's fields.
        x.request.base() = reader_.head();
    } else {
        x.started = now;
    }
    x.refused = reason;
    x.keep_alive = false;
    x.deadline = x.started + options_.request_timeout;
    reading_deadline_.reset();
    continue_pending_ = false;
    queue_.push_back(std::move(x));
    stop_reading();
}

void connection_machine::stop_reading() {
    reader_stopped_ = true;
    head_deadline_.reset();
}

bool connection_machine::queue_full() const {
    if (queue_.size() >= std::max<std::size_t>(options_.max_pipelined, 1)) {
        return true;
    }
    // Bounded in bytes too: a client may pipeline small requests, not megabytes of bodies.
    return !queue_.empty() && queued_bytes_ >= options_.max_pipelined_bytes;
}

bool connection_machine::lease_held(std::size_t extra) {
    const std::size_t held = held_bytes() + extra;
    const std::size_t wanted = held > unleased_request_bytes ? held - unleased_request_bytes : 0;
    const std::size_t leased = request_lease_.bytes();
    if (wanted <= leased) {
        request_lease_.shrink(leased - wanted);
        return true;
    }
    return request_lease_.grow(wanted - leased);
}

// ---- the answerer -----------------------------------------------------------------------

connection_machine::answer_action connection_machine::next_answer(clock::time_point now) {
    if (phase_ == phase::done) {
        return {.type = answer_action::kind::done};
    }
    if (closed_) {
        phase_ = phase::done;
        return {.type = answer_action::kind::done};
    }
    if (queue_.empty()) {
        if (reader_stopped_) {
            return closing(now);
        }
        return {.type = answer_action::kind::wait};
    }
    const exchange& x = queue_.front();
    if (x.refused) {
        phase_ = phase::writing;
        keep_ = false;
        return {.type = answer_action::kind::refuse, .status = status_of(*x.refused)};
    }
    switch (x.match.result) {
        case route_match::kind::not_found:
        case route_match::kind::method_not_allowed:
            phase_ = phase::writing;
            keep_ = keep_alive_for(false);
            return {.type = answer_action::kind::route_miss,
                    .status = x.match.result == route_match::kind::not_found
                                  ? http::status::not_found
                                  : http::status::method_not_allowed,
                    .keep_alive = keep_};
        case route_match::kind::found:
            break;
    }
    phase_ = phase::handling;
    handler_running_ = true;
    stream_keep_alive_ = false;
    return {.type = answer_action::kind::run_handler};
}

connection_machine::answer_action connection_machine::on_handler_done(
    const handler_outcome& outcome) {
    handler_running_ = false;
    if (outcome.streaming) {
        if (!outcome.finished && !timed_out_ && !outcome.threw && !closed_) {
            phase_ = phase::finishing;
            keep_ = keep_alive_for(outcome.wants_close);
            return {.type = answer_action::kind::finish_stream};
        }
        keep_ = keep_alive_for(outcome.wants_close) && stream_keep_alive_ && outcome.finished &&
                !write_failed_;
        phase_ = phase::ending;
        return {.type = answer_action::kind::end, .keep_alive = keep_};
    }
    if (closed_) {
        keep_ = false;
        phase_ = phase::ending;
        return {.type = answer_action::kind::end};
    }
    phase_ = phase::writing;
    keep_ = keep_alive_for(outcome.wants_close);
    if (timed_out_ || outcome.threw) {
        return {
            .type = answer_action::kind::fallback,
            .status = timed_out_ ? http::status::service_unavailable
                                 : http::status::internal_server_error,
            .keep_alive = keep_,
            .reason = timed_out_ ? fallback_reason::timed_out : fallback_reason::handler_failed};
    }
    // A complete body waits for a client that may not read: it is held against the ceiling.
    answer_lease_.reset();
    const std::size_t answer_bytes =
        outcome.body_bytes > unleased_answer_bytes ? outcome.body_bytes - unleased_answer_bytes : 0;
    if (!answer_lease_.grow(answer_bytes)) {
        return {.type = answer_action::kind::fallback,
                .status = http::status::service_unavailable,
                .keep_alive = keep_,
                .reason = fallback_reason::memory};
    }
    return {.type = answer_action::kind::write, .keep_alive = keep_};
}

void connection_machine::on_stream_finished(bool finished) {
    keep_ = keep_ && stream_keep_alive_ && finished && !write_failed_;
    phase_ = phase::ending;
}

void connection_machine::on_answer_written(boost::system::error_code ec) {
    if (ec) {
        write_failed_ = true;
    }
    keep_ = keep_ && !write_failed_;
    phase_ = phase::ending;
}

connection_machine::answer_action connection_machine::end_exchange(clock::time_point now) {
    answer_lease_.reset();
    if (!queue_.empty()) {
        queued_bytes_ -= queue_.front().bytes;
        queue_.pop_front();
    }
    phase_ = phase::idle;
    const bool keep = keep_ && !write_failed_ && !timed_out_;
    keep_ = false;
    if (!keep || closed_ || draining_ || peer_gone_) {
        return closing(now);
    }
    if (queue_.empty()) {
        if (!reading_deadline_) {
            idle_deadline_ = now + options_.idle_timeout;
        }
    }
    // Gives back what the answered request held (shrinking is never refused).
    static_cast<void>(lease_held());
    return next_answer(now);
}

connection_machine::answer_action connection_machine::closing(clock::time_point now) {
    if (closed_) {
        phase_ = phase::done;
        return {.type = answer_action::kind::done};
    }
    phase_ = phase::closing;
    // A reader still waiting for bytes owns the socket's read side: only a stopped one lets
    // the answerer read the client's leftovers (or run a TLS shutdown).
    if (reader_stopped_) {
        lingering_ = true;
        linger_deadline_ = now + linger_time;
        return {.type = answer_action::kind::linger};
    }
    closed_ = true;
    phase_ = phase::done;
    return {.type = answer_action::kind::close};
}

effects connection_machine::on_lingered() {
    effects fx;
    close_now(fx);
    phase_ = phase::done;
    return fx;
}

connection_machine::stream_framing connection_machine::on_stream_head(bool streamed,
                                                                      bool wants_close) {
    const unsigned version = queue_.empty() ? 11 : queue_.front().request.version();
    stream_framing framing;
    framing.chunked = streamed && version >= 11;
    framing.keep_alive = keep_alive_for(wants_close) && (!streamed || framing.chunked);
    stream_keep_alive_ = framing.keep_alive;
    return framing;
}

bool connection_machine::keep_alive_for(bool wants_close) const {
    if (queue_.empty() || !queue_.front().keep_alive || draining_ || peer_gone_ || timed_out_) {
        return false;
    }
    return !wants_close;
}

// ---- writes -----------------------------------------------------------------------------

void connection_machine::on_write_started(clock::time_point now) {
    write_pending_ = true;
    write_deadline_ = after(now, options_.write_timeout);
}

void connection_machine::on_write_done(boost::system::error_code ec) {
    write_pending_ = false;
    write_deadline_ = clock::time_point::max();
    if (ec) {
        write_failed_ = true;
    }
}

// ---- time, drain, cancellation ----------------------------------------------------------

clock::time_point connection_machine::deadline() const {
    if (closed_) {
        return clock::time_point::max();
    }
    if (lingering_) {
        return linger_deadline_;
    }
    clock::time_point due = idle_deadline_;
    if (cut_at_) {
        due = *cut_at_;
    } else if (!queue_.empty()) {
        due = queue_.front().deadline;
    } else if (reading_deadline_) {
        due = *reading_deadline_;
    } else if (head_deadline_) {
        due = std::min(due, *head_deadline_);
    }
    return write_pending_ ? std::min(due, write_deadline_) : due;
}

effects connection_machine::on_deadline(clock::time_point now) {
    effects fx;
    if (closed_ || now < deadline()) {
        return fx;
    }
    if (lingering_) {
        close_now(fx);
        return fx;
    }
    if (write_pending_ && now >= write_deadline_) {
        // A client that does not take what it asked for is cut off, whatever it asked for.
        fx.counted = rejection::write_timeout;
        close_now(fx);
        return fx;
    }
    if (handler_running_ && !timed_out_) {
        // The handler gets its cancellation; the answerer then writes 503 (or cuts a stream).
        // Should that stall too, the grace's end closes the socket.
        timed_out_ = true;
        fx.counted = rejection::request_timeout;
        fx.cancel = boost::asio::cancellation_type::terminal;
        cut_at_ = now + options_.cancel_grace;
        return fx;
    }
    // A head past its deadline is a request that timed out; an idle connection just closes.
    const bool head_late = head_deadline_ && queue_.empty() && now >= *head_deadline_;
    if (!timed_out_ && (!idle() || head_late)) {
        fx.counted = rejection::request_timeout;
    }
    close_now(fx);
    return fx;
}

effects connection_machine::on_drain() {
    draining_ = true;
    effects fx;
    if (idle()) {
        close_now(fx);
    }
    return fx;
}

effects connection_machine::on_cancel(boost::asio::cancellation_type type) {
    effects fx;
    if (type == boost::asio::cancellation_type::total && handler_running_) {
        fx.cancel = type;
        return fx;
    }
    close_now(fx);
    return fx;
}

bool connection_machine::idle() const {
    return queue_.empty() && !reading_deadline_ && !handler_running_;
}

void connection_machine::close_now(effects& fx) {
    if (closed_) {
        return;
    }
    closed_ = true;
    fx.close = true;
    if (handler_running_) {
        fx.cancel = boost::asio::cancellation_type::terminal;
    }
}

}  // namespace mgw::http
