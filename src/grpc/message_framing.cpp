// Length-prefixed message framing ("Length-Prefixed-Message" of the gRPC HTTP/2 protocol).
#include <algorithm>
#include <utility>

#include <mgw/grpc/message_framing.hpp>

namespace mgw::grpc {

void write_message_prefix(char* out, std::uint32_t length) {
    out[0] = 0;
    out[1] = static_cast<char>((length >> 24) & 0xff);
    out[2] = static_cast<char>((length >> 16) & 0xff);
    out[3] = static_cast<char>((length >> 8) & 0xff);
    out[4] = static_cast<char>(length & 0xff);
}

std::string frame_message(std::string_view payload) {
    std::string out(message_prefix_bytes + payload.size(), '\0');
    write_message_prefix(out.data(), static_cast<std::uint32_t>(payload.size()));
    std::copy(payload.begin(), payload.end(), out.begin() + message_prefix_bytes);
    return out;
}

std::size_t message_reader::feed(std::string_view bytes) {
    std::size_t used = 0;
    if (error_ != error::none || complete_) {
        return 0;
    }
    if (prefix_filled_ < message_prefix_bytes) {
        const std::size_t n = std::min(bytes.size(), message_prefix_bytes - prefix_filled_);
        std::copy_n(bytes.data(), n, prefix_ + prefix_filled_);
        prefix_filled_ += n;
        used += n;
        if (prefix_filled_ < message_prefix_bytes) {
            return used;
        }
        const auto flag = static_cast<unsigned char>(prefix_[0]);
        length_ = (std::size_t{static_cast<unsigned char>(prefix_[1])} << 24) |
                  (std::size_t{static_cast<unsigned char>(prefix_[2])} << 16) |
                  (std::size_t{static_cast<unsigned char>(prefix_[3])} << 8) |
                  std::size_t{static_cast<unsigned char>(prefix_[4])};
        if (flag == 1) {
            error_ = error::compressed;
            return used;
        }
        if (flag != 0) {
            error_ = error::bad_flag;
            return used;
        }
        if (length_ > max_) {
            error_ = error::too_large;
            return used;
        }
        // Not the announced length: the bytes are buffered (and leased) as they arrive.
        body_.reserve(std::min<std::size_t>(length_, 16 * 1024));
    }
    const std::size_t n = std::min(bytes.size() - used, length_ - body_.size());
    body_.append(bytes.data() + used, n);
    used += n;
    if (body_.size() == length_) {
        complete_ = true;
    }
    return used;
}

std::string message_reader::take_message() {
    std::string out = std::move(body_);
    body_.clear();
    prefix_filled_ = 0;
    length_ = 0;
    complete_ = false;
    return out;
}

}  // namespace mgw::grpc
