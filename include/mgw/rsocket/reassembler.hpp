// RSocket module: reassembly of fragmented frames (the FOLLOWS flag). Pure and bounded: a peer
// cannot make it hold more than `max_bytes` of partial messages across all its streams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <mgw/rsocket/frame.hpp>

namespace mgw::rsocket {

class reassembler {
  public:
    enum class status : std::uint8_t {
        complete,   // `out` is a whole frame
        pending,    // a fragment was stored; nothing to handle yet
        too_large,  // the partial messages would exceed max_bytes: a connection error
    };

    explicit reassembler(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    // A frame that is neither fragmented nor continues a fragmented message comes back as
    // `out` unchanged. The first fragment (a REQUEST_* or PAYLOAD with FOLLOWS) and the PAYLOAD
    // fragments that follow it are joined, metadata before data; the last one (no FOLLOWS)
    // completes the frame, whose views then point into this object until the next feed().
    // Any other frame on a stream with a partial message (CANCEL, ERROR) drops the partial.
    status feed(const frame& in, frame& out);

    std::size_t buffered_bytes() const { return buffered_; }
    // Those, plus the last completed message until release_done().
    std::size_t held_bytes() const { return buffered_ + done_.metadata.size() + done_.data.size(); }
    // Frees the last completed message (its views in `out` become invalid).
    void release_done() { done_ = partial{}; }

  private:
    struct partial {
        frame head;
        std::string metadata;
        std::string data;
    };

    std::size_t max_bytes_;
    std::size_t buffered_ = 0;
    std::map<std::uint32_t, partial> partial_;
    partial done_;
};

}  // namespace mgw::rsocket
