// gRPC module: the length-prefixed messages of a gRPC stream (1 byte compressed flag, 4 bytes
// big-endian length, the message), written whole and read incrementally from DATA frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mgw::grpc {

inline constexpr std::size_t message_prefix_bytes = 5;

// The prefix of an uncompressed message of `length` bytes, written to `out[0..5)`.
void write_message_prefix(char* out, std::uint32_t length);
// `payload` with its prefix in front.
std::string frame_message(std::string_view payload);

// Reassembles messages from the bytes of one stream's DATA frames. The size limit is checked
// on the prefix, before any of the message is buffered.
class message_reader {
  public:
    enum class error : std::uint8_t {
        none,
        too_large,   // the prefix announces more than max_message_bytes
        compressed,  // flag 1: this implementation negotiates no compression
        bad_flag,    // a flag other than 0 or 1
    };

    explicit message_reader(std::size_t max_message_bytes) : max_(max_message_bytes) {}

    // Consumes up to `bytes.size()` bytes; returns how many were consumed. When it returns with
    // has_message(), the message is complete (take it, then feed the rest). After an error
    // nothing more is consumed.
    std::size_t feed(std::string_view bytes);

    bool has_message() const { return complete_; }
    // The complete message; the reader starts on the next prefix.
    std::string take_message();

    error failure() const { return error_; }
    // Bytes of an incomplete message (prefix included) buffered now.
    std::size_t partial_bytes() const { return prefix_filled_ + body_.size(); }
    // The announced length of the message being read (0 before its prefix is complete).
    std::size_t announced_bytes() const {
        return prefix_filled_ == message_prefix_bytes ? length_ : 0;
    }

  private:
    std::size_t max_;
    char prefix_[message_prefix_bytes]{};
    std::size_t prefix_filled_ = 0;
    std::size_t length_ = 0;
    std::string body_;
    bool complete_ = false;
    error error_ = error::none;
};

}  // namespace mgw::grpc
