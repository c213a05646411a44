// Fragment reassembly, per stream, bounded across streams.
#include <mgw/rsocket/reassembler.hpp>

namespace mgw::rsocket {

namespace {

bool may_start_fragments(frame_type t) {
    switch (t) {
        case frame_type::request_response:
        case frame_type::request_fnf:
        case frame_type::request_stream:
        case frame_type::request_channel:
        case frame_type::payload:
            return true;
        default:
            return false;
    }
}

}  // namespace

reassembler::status reassembler::feed(const frame& in, frame& out) {
    const auto found = in.stream_id == 0 ? partial_.end() : partial_.find(in.stream_id);
    if (found == partial_.end()) {
        if (!in.has(flag::follows) || !may_start_fragments(in.type)) {
            out = in;
            return status::complete;
        }
        const std::size_t size = in.metadata.size() + in.data.size();
        if (buffered_ + size > max_bytes_) {
            return status::too_large;
        }
        partial& p = partial_[in.stream_id];
        p.head = in;
        p.head.metadata = {};
        p.head.data = {};
        p.metadata.assign(in.metadata);
        p.data.assign(in.data);
        buffered_ += size;
        return status::pending;
    }
    partial& p = found->second;
    if (in.type != frame_type::payload) {
        // CANCEL, ERROR or a new request on the stream: the fragmented message is abandoned.
        buffered_ -= p.metadata.size() + p.data.size();
        partial_.erase(found);
        out = in;
        return status::complete;
    }
    const std::size_t size = in.metadata.size() + in.data.size();
    if (buffered_ + size > max_bytes_) {
        return status::too_large;
    }
    if (in.has(flag::metadata)) {
        p.metadata.append(in.metadata);
        p.head.flags |= flag::metadata;
    }
    p.data.append(in.data);
    buffered_ += size;
    if (in.has(flag::follows)) {
        return status::pending;
    }
    buffered_ -= p.metadata.size() + p.data.size();
    done_ = std::move(p);
    partial_.erase(found);
    done_.head.flags = static_cast<std::uint16_t>((done_.head.flags & ~flag::follows) |
                                                  (in.flags & flag::complete));
    out = done_.head;
    out.metadata = done_.metadata;
    out.data = done_.data;
    return status::complete;
}

}  // namespace mgw::rsocket
