// A frame buffer's growth, leased before it happens.
#include "frame_buffer.hpp"

#include <algorithm>

namespace mgw::rsocket {

bool grow_frame(std::string& frame, std::size_t need, std::size_t limit, held_bytes& bytes) {
    if (need <= frame.capacity()) {
        return true;
    }
    // Doubling, but never past the limit (the frame's announced length, or the most a
    // WebSocket message may be).
    const std::size_t want = std::max(need, std::min(limit, 2 * frame.capacity()));
    if (bytes.reserve(want + 1) != memory_refusal::none) {
        return false;
    }
    // Into a fresh string: growing one in place rounds up to twice its capacity.
    std::string bigger;
    bigger.reserve(want);
    bigger.append(frame);
    frame.swap(bigger);
    bytes.fit(frame.capacity() + 1);
    return true;
}

bool reserve_next_read(std::string& frame, std::size_t most, held_bytes& bytes) {
    const std::size_t have = frame.size();
    const std::size_t step = std::clamp(have, first_read_bytes, read_chunk_bytes);
    return grow_frame(frame, std::min(have + step, most), most, bytes);
}

}  // namespace mgw::rsocket
