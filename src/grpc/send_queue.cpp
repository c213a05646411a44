// A stream's outgoing queue: messages are written into DATA frames straight from the bytes
// their owners hold (a gathered message piece by piece), never copied into a buffer first, and
// their leased bytes are given back only when the write is confirmed or the message returned.
#include "send_queue.hpp"

#include <algorithm>
#include <iterator>
#include <memory>

namespace mgw::grpc {

namespace {

// `length` bytes of `m` from `offset` on, across its pieces.
void append_part(std::string& out, const outgoing_message& m, std::size_t offset,
                 std::size_t length) {
    const auto take = [&](std::string_view piece) {
        if (offset >= piece.size()) {
            offset -= piece.size();
            return;
        }
        const std::size_t n = std::min(piece.size() - offset, length);
        out.append(piece.data() + offset, n);
        offset = 0;
        length -= n;
    };
    take(m.framed);
    for (std::size_t i = 0; i < m.more.size() && length > 0; ++i) {
        take(m.more[i]);
    }
}

}  // namespace

outgoing_message outgoing_message::copy_of(std::string_view payload) {
    auto bytes = std::make_shared<const std::string>(frame_message(payload));
    const std::string_view view(*bytes);
    return outgoing_message{std::move(bytes), view};
}

bool send_queue::push(outgoing_message&& message) {
    const std::size_t size = message.size();
    if (!lease_.grow(size)) {
        return false;
    }
    queued_bytes_ += size;
    queue_.push_back(std::move(message));
    return true;
}

void send_queue::write(std::string& out, std::size_t length) {
    while (length > 0) {
        const outgoing_message& m = queue_.front();
        const std::size_t size = m.size();
        const std::size_t n = std::min(size - head_offset_, length);
        append_part(out, m, head_offset_, n);
        length -= n;
        head_offset_ += n;
        if (head_offset_ == size) {
            handed_bytes_ += size;
            handed_.push_back(std::move(queue_.front()));
            queue_.pop_front();
            head_offset_ = 0;
        }
    }
}

std::size_t send_queue::confirm_written() {
    if (handed_.empty()) {
        return 0;
    }
    std::size_t bytes = 0;
    for (const outgoing_message& m : handed_) {
        bytes += m.size();
    }
    const std::size_t count = handed_.size();
    handed_.clear();
    handed_bytes_ = 0;
    queued_bytes_ -= bytes;
    lease_.shrink(bytes);
    return count;
}

void send_queue::take_handed(std::vector<outgoing_message>& into) {
    for (outgoing_message& m : handed_) {
        into.push_back(std::move(m));
    }
    handed_.clear();
    handed_bytes_ = 0;
}

void send_queue::take_queued(std::vector<outgoing_message>& into) {
    for (outgoing_message& m : queue_) {
        into.push_back(std::move(m));
    }
    queue_.clear();
}

std::vector<outgoing_message> send_queue::take_unstarted() {
    std::vector<outgoing_message> unstarted(std::make_move_iterator(queue_.begin()),
                                            std::make_move_iterator(queue_.end()));
    if (head_offset_ > 0 && !unstarted.empty()) {
        // The first message is half out: it must be completed, so it stays.
        queue_.erase(queue_.begin() + 1, queue_.end());
        queue_.front() = std::move(unstarted.front());
        unstarted.erase(unstarted.begin());
    } else {
        queue_.clear();
    }
    std::size_t bytes = 0;
    for (const outgoing_message& m : unstarted) {
        bytes += m.size();
    }
    queued_bytes_ -= bytes;
    lease_.shrink(bytes);
    return unstarted;
}

}  // namespace mgw::grpc
