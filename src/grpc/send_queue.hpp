// gRPC module, internal: one stream's outgoing queue, the messages (whole or gathered from
// pieces, as the Loggregator batches and the shared HM encodings are) that DATA frames carry.
// Split from the connection core so that the byte accounting of a stream's sends (queued,
// handed to nghttp2, confirmed written, leased from the memory budget) is one small thing with
// its own rules, apart from the HTTP/2 state machine that decides when a frame goes out.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/connection.hpp>

namespace mgw::grpc {

// The life of a message: queued (waiting for nghttp2), then handed (its last byte is in the
// output of a take_output() not yet written), then confirmed (output_written) and gone. The
// queue's bytes (queued and handed) are leased from the budget until confirmed or given back.
class send_queue {
  public:
    explicit send_queue(core::memory_lease lease) : lease_(std::move(lease)) {}

    // Queued and handed, not confirmed written.
    std::size_t queued_bytes() const { return queued_bytes_; }
    // Not yet written into a DATA frame: what the next frames can carry.
    std::size_t unsent_bytes() const { return queued_bytes_ - handed_bytes_ - head_offset_; }

    // Queues `message` when the budget grants its bytes; false (the message left as it was)
    // when it refuses them.
    bool push(outgoing_message&& message);

    // Writes the next `length` unsent bytes (at most unsent_bytes()) into `out`, across
    // messages and their pieces; a message whose last byte is written becomes handed.
    void write(std::string& out, std::size_t length);

    // The handed messages were written to the transport: they leave the queue and give their
    // bytes back. Returns how many there were.
    std::size_t confirm_written();

    // The handed messages, moved to `into` (the stream closed before their write was confirmed).
    void take_handed(std::vector<outgoing_message>& into);
    // The messages still queued, the one half written included, moved to `into` (the stream is
    // gone; its lease goes with it).
    void take_queued(std::vector<outgoing_message>& into);
    // The queued messages not begun, their bytes given back; a message half written stays, as
    // the DATA frames must complete it.
    std::vector<outgoing_message> take_unstarted();

  private:
    std::deque<outgoing_message> queue_;   // waiting for nghttp2
    std::size_t head_offset_ = 0;          // bytes of queue_.front() already written
    std::deque<outgoing_message> handed_;  // in the output not yet confirmed written
    std::size_t handed_bytes_ = 0;         // of handed_
    std::size_t queued_bytes_ = 0;         // queue_ + handed_
    core::memory_lease lease_;
};

}  // namespace mgw::grpc
