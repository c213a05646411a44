// Loggregator module: the emitter as an I/O-free state machine. It takes batches from the
// envelope queue (100 envelopes, or whatever waited 100 ms) and sends them on one
// `loggregator.v2.Ingress/BatchSender` call per connection; takes back what the connection
// reports unwritten and sends it first on the next one; decides when to reconnect (backoff,
// reset once a connection proved healthy); and on drain flushes everything, half-closes and
// waits for the agent's answer, which is the only proof that it read every batch. The channel
// (grpc/client.hpp) drives it as a client_session; the unit tests drive it against an
// in-memory server core.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <mgw/grpc/client_session.hpp>

#include "backoff.hpp"
#include "envelope_queue.hpp"

namespace mgw::loggregator {

// Why a connection attempt or a connection failed: the `reason` label of send errors.
enum class send_error : std::uint8_t {
    connect,     // the agent's address did not answer (refused, unreachable, timed out)
    tls,         // TLS failed: the agent's certificate, or the agent refused ours
    call,        // the agent ended BatchSender with a status, or it could not be opened
    connection,  // the connection broke (closed, reset, HTTP/2 error, keepalive timeout)
};
inline constexpr std::size_t send_error_count = 4;
std::string_view to_string(send_error error);

struct emitter_core_options {
    std::size_t batch_size = 100;  // envelopes per BatchSender message, at most
    // Bytes per message, at most (the agent accepts 10 MiB); one envelope always fits.
    std::size_t max_batch_bytes = std::size_t{1} << 20;
    std::chrono::milliseconds batch_interval{100};  // an envelope waits this long at most
    backoff_options backoff;
    // A connection that lasted this long resets the backoff when it ends.
    std::chrono::milliseconds stable_after{std::chrono::seconds(5)};
    std::uint64_t seed = 1;  // of the backoff's jitter
};

struct emitter_counters {
    std::array<std::uint64_t, source_count> envelopes_sent{};  // written to the agent
    std::uint64_t batches_sent = 0;
    std::array<std::uint64_t, send_error_count> send_errors{};
    std::uint64_t connections = 0;  // established (the agent's preface arrived)
    std::uint64_t reconnects = 0;   // connection attempts after the first
};

class emitter_core final : public grpc::client_session {
  public:
    static constexpr std::string_view method = "/loggregator.v2.Ingress/BatchSender";

    // `queue` must outlive the core.
    emitter_core(emitter_core_options options, envelope_queue& queue, clock::time_point now);

    // --- the shell's connection loop ---

    // When the next connection attempt is due.
    clock::time_point next_attempt() const { return next_attempt_; }
    void attempting();
    void connect_failed(grpc::client_failure failure, clock::time_point now);
    // After channel::run(): counts the failure (if any) and schedules the next attempt.
    void connection_ended(const grpc::client_outcome& outcome, clock::time_point now);

    // --- grpc::client_session ---
    void on_open(grpc::connection& conn, clock::time_point now) override;
    void on_progress(grpc::connection& conn, std::vector<grpc::event>& events,
                     clock::time_point now) override;
    clock::time_point next_timer() const override;
    bool wants_close() const override;

    // --- drain ---

    // Everything queued goes out at once, then the call is half-closed and the agent's answer
    // awaited.
    void begin_drain();
    bool draining() const { return draining_; }
    // Nothing queued or unconfirmed, and the agent answered OK (or no connection was needed).
    bool drained() const;
    // At the drain deadline, after the connection is gone: everything left is dropped
    // (counted as shutdown). Returns how many envelopes.
    std::size_t abandon();

    // A BatchSender call is open on a connection the agent accepted.
    bool agent_up() const { return stream_.has_value() && !call_ended_; }
    const emitter_counters& counters() const { return counters_; }
    // The last failure, its status (calls) and text, for the log.
    std::optional<send_error> last_error() const { return last_error_; }
    std::optional<grpc::status_code> last_call_status() const { return call_status_; }
    const std::string& last_call_message() const { return call_message_; }
    // The delay chosen for the next attempt (for the log).
    std::chrono::milliseconds retry_delay() const { return retry_delay_; }

  private:
    using batch_ptr = std::shared_ptr<const batch>;

    bool batch_due(clock::time_point now) const;
    void fill(grpc::connection& conn, clock::time_point now);
    void confirm_written(grpc::connection& conn);
    void take_back(std::vector<grpc::outgoing_message>& messages);
    void fail(send_error error, clock::time_point now, bool stable);

    emitter_core_options options_;
    envelope_queue& queue_;
    backoff backoff_;
    emitter_counters counters_;

    clock::time_point next_attempt_;
    std::chrono::milliseconds retry_delay_{0};
    bool attempted_ = false;
    std::optional<send_error> last_error_;

    clock::time_point now_;  // of the last callback: "due now" for next_timer()

    // The current connection.
    bool opened_ = false;
    clock::time_point opened_at_;
    std::optional<grpc::stream_id> stream_;
    bool send_closed_ = false;  // END_STREAM queued (drain, or the agent's GOAWAY)
    bool goaway_ = false;
    bool call_ended_ = false;
    std::optional<grpc::status_code> call_status_;
    std::string call_message_;
    bool blocked_ = false;  // the stream's send queue refused a batch: wait for room
    std::optional<clock::time_point> retry_send_at_;  // after the memory budget refused one
    std::uint64_t confirmed_ = 0;  // the connection's messages_sent already accounted

    std::deque<batch_ptr> requeued_;   // held: came back unwritten, sent first
    std::deque<batch_ptr> in_flight_;  // handed to the connection, not confirmed written

    bool draining_ = false;
    bool drain_done_ = false;
};

}  // namespace mgw::loggregator
