// HTTP server module (internal): one HTTP/1.1 connection as an I/O-free state machine. It
// decides everything a connection decides (which request is read next and when to stop reading,
// what a request's deadline and body limit are, what is answered and whether the connection
// stays open, when a deadline cuts what, what a drain closes) from events the I/O shell reports
// (bytes read, handler done, write started and done, deadline, drain, cancellation, peer gone)
// and hands back what to do. Tested byte by byte without sockets.
//
// Two loops of the shell ask it for their next step: the reader (read, wait for room in the
// read-ahead queue, send 100 Continue, stop) and the answerer (wait, refuse, answer a route
// miss, run a handler, write, fall back to 503/500, finish a stream, linger, close). A watchdog
// sleeps until deadline() and reports it. After every event the shell wakes both loops and
// re-arms the watchdog; everything runs on the connection's strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/system/error_code.hpp>

#include <mgw/core/memory_budget.hpp>
#include <mgw/http/response.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server_options.hpp>

#include "rejection.hpp"
#include "request_reader.hpp"
#include "request_target.hpp"

namespace mgw::http {

using clock = std::chrono::steady_clock;

// One request read (perhaps ahead of the one being answered) and what the connection decided
// about it before any handler ran.
struct exchange {
    request_message request;  // for a refusal: the head when it was known, for on_refused
    request_target target;
    route_match match;
    std::optional<rejection> refused;  // answered by the server itself, then the connection closes
    clock::time_point started;
    clock::time_point deadline;
    bool keep_alive = false;
    std::size_t bytes = 0;  // what it holds (head and body), leased while it is queued
};

// What an event asks of the shell besides the next step of the loop that reported it.
struct effects {
    bool close = false;  // close the socket now
    boost::asio::cancellation_type cancel = boost::asio::cancellation_type::none;  // the handler
    std::optional<rejection> counted;  // count it in mgw_http_rejected_total
};

// How a handler ended, as the shell saw it.
struct handler_outcome {
    bool threw = false;
    bool streaming = false;      // it started a streamed response
    bool finished = false;       // ... and finished it
    bool wants_close = false;    // its response carries `Connection: close`
    std::size_t body_bytes = 0;  // a complete response's body, to be leased before it is sent
};

class connection_machine {
  public:
    enum class read_action {
        read,           // read into read_buffer(), then on_read()
        wait,           // the read-ahead queue is full: wait until the answerer frees it
        send_continue,  // write `100 Continue`, then on_continue_written()
        stop,           // nothing more is read on this connection
    };

    enum class fallback_reason { none, timed_out, handler_failed, memory };

    struct answer_action {
        enum class kind {
            wait,           // nothing to answer yet: wait for the reader
            refuse,         // write the server's refusal (`status`) of current()
            route_miss,     // write 404 or 405 (`status`) for current()
            run_handler,    // run current()'s handler, then on_handler_done()
            finish_stream,  // end the stream the handler left open, then on_stream_finished()
            write,          // write the handler's complete response, then on_answer_written()
            fallback,       // write `status` instead (see `reason`), then on_answer_written()
            end,            // nothing more to write for current()
            // After a refuse, route_miss, finish_stream, write, fallback or end step: account
            // for current(), then end_exchange() gives the next step.
            linger,  // half-close, drop what the client still sends, then on_lingered()
            close,   // close the socket now
            done,    // the connection is over
        };
        kind type = kind::wait;
        http::status status = http::status::ok;
        bool keep_alive = false;  // writes: the connection stays open afterwards
        fallback_reason reason = fallback_reason::none;
    };

    // How a streamed response is framed: chunked on HTTP/1.1; on HTTP/1.0 the end of the
    // connection ends the body, so it cannot stay open.
    struct stream_framing {
        bool chunked = false;
        bool keep_alive = false;
    };

    // What one connection holds without a lease: the read buffer and head of a small request,
    // and a small complete answer (a health check's, an error's). Like the connection's socket
    // and coroutine frames this is a fixed cost per connection, bounded by
    // http.max_connections and covered by the part of limits.memory kept back for what is not
    // leased (core::leasable_bytes); only the bytes beyond it are leased. Without it a health
    // check, a 413 or a 404 would need room in a budget that non-reading clients of big
    // answers may have filled, and a load balancer would see a memory refusal as ill health.
    static constexpr std::size_t unleased_request_bytes = std::size_t{8} << 10;
    static constexpr std::size_t unleased_answer_bytes = std::size_t{4} << 10;

    // `memory`: the process-wide budget requests and answers lease from; null: no ceiling.
    connection_machine(const server_options& options, const router& routes,
                       core::memory_budget* memory, clock::time_point now);

    // ---- the reader ---------------------------------------------------------------------
    read_action next_read(clock::time_point now);
    boost::asio::mutable_buffer read_buffer() { return reader_.prepare(); }
    // `bytes` arrived (or `ec`: the peer is gone, or the socket was closed under the read).
    effects on_read(std::size_t bytes, boost::system::error_code ec, clock::time_point now);
    effects on_continue_written(boost::system::error_code ec);

    // ---- the answerer -------------------------------------------------------------------
    answer_action next_answer(clock::time_point now);
    // The exchange being answered (valid from next_answer's refuse, route_miss or run_handler
    // until end_exchange).
    exchange& current() { return queue_.front(); }
    answer_action on_handler_done(const handler_outcome& outcome);
    void on_stream_finished(bool finished);
    void on_answer_written(boost::system::error_code ec);
    // After `end`: the next step (another answer, linger or close).
    answer_action end_exchange(clock::time_point now);
    effects on_lingered();

    // A streamed response's head is about to be written.
    stream_framing on_stream_head(bool streamed, bool wants_close);

    // ---- writes (every byte the connection sends) ----------------------------------------
    void on_write_started(clock::time_point now);
    void on_write_done(boost::system::error_code ec);

    // ---- time, drain, cancellation ------------------------------------------------------
    // When the watchdog must report on_deadline(); max when nothing is due.
    clock::time_point deadline() const;
    effects on_deadline(clock::time_point now);
    // Close now if idle, otherwise after the exchange in progress.
    effects on_drain();
    // total with a handler running: cancel it (it may wrap up); otherwise close now.
    effects on_cancel(boost::asio::cancellation_type type);

    bool closed() const { return closed_; }
    bool handler_running() const { return handler_running_; }
    bool draining() const { return draining_; }
    // Bytes held for this client's requests (read buffer, request in progress, queue).
    std::size_t held_bytes() const { return reader_.held_bytes() + queued_bytes_; }
    std::size_t queued() const { return queue_.size(); }

  private:
    enum class phase { idle, handling, finishing, writing, ending, closing, done };

    void advance(clock::time_point now);
    void on_head(clock::time_point now);
    void on_complete();
    void refuse(rejection reason, clock::time_point now);
    bool lease_held(std::size_t extra = 0);
    bool queue_full() const;
    bool idle() const;
    bool keep_alive_for(bool wants_close) const;
    answer_action closing(clock::time_point now);
    void close_now(effects& fx);
    void stop_reading();
    void note_head_started(clock::time_point now);
    bool head_in_progress() const;

    const server_options& options_;
    const router& routes_;
    request_reader reader_;

    // Requests read and not yet answered; the front one is being answered.
    std::deque<exchange> queue_;
    std::size_t queued_bytes_ = 0;
    std::optional<exchange> pending_;   // the request whose body is being read
    core::memory_lease request_lease_;  // request_bodies: held_bytes()
    core::memory_lease answer_lease_;   // http_answer: the complete body being written

    phase phase_ = phase::idle;
    bool reader_stopped_ = false;
    bool continue_pending_ = false;
    bool handler_running_ = false;
    bool closed_ = false;
    bool draining_ = false;
    bool peer_gone_ = false;
    bool timed_out_ = false;
    bool write_failed_ = false;
    bool write_pending_ = false;
    bool lingering_ = false;
    bool stream_keep_alive_ = false;
    bool keep_ = false;  // the current exchange leaves the connection open

    clock::time_point idle_deadline_;
    std::optional<clock::time_point> reading_deadline_;  // a body is being read
    std::optional<clock::time_point> head_deadline_;     // a head is being read
    std::optional<clock::time_point> cut_at_;            // a timed-out handler's grace ends
    clock::time_point write_deadline_ = clock::time_point::max();
    clock::time_point linger_deadline_ = clock::time_point::max();
};

}  // namespace mgw::http
