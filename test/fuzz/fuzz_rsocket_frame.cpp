// libFuzzer target for the RSocket frame codec: every input is decoded as one frame (views must
// stay inside the input; a decoded frame must re-encode and decode to the same fields), then
// replayed as a TCP byte stream through the connection state machine (SETUP, fragments, ERRORs).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/rsocket/connection_state.hpp"
#include "mgw/rsocket/frame.hpp"

namespace {

using namespace mgw::rsocket;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool inside(std::string_view view, std::string_view input) {
    if (view.empty()) {
        return true;
    }
    return view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size();
}

void check_round_trip(const frame& f) {
    std::string encoded;
    require(encode_frame(f, encoded, true));
    require(read_length_prefix(encoded.data()) == encoded.size() - length_prefix_bytes);
    frame again;
    require(decode_frame(std::string_view(encoded).substr(length_prefix_bytes), again).has_value());
    require(again.stream_id == f.stream_id && again.type == f.type && again.flags == f.flags);
    require(again.data == f.data && again.metadata == f.metadata);
    require(again.error == f.error && again.last_position == f.last_position);
    if (f.type == frame_type::setup) {
        require(again.setup.keepalive_ms == f.setup.keepalive_ms);
        require(again.setup.max_lifetime_ms == f.setup.max_lifetime_ms);
        require(again.setup.metadata_mime == f.setup.metadata_mime);
        require(again.setup.data_mime == f.setup.data_mime);
        require(again.setup.resume_token == f.setup.resume_token);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    frame f;
    const decode_result decoded = decode_frame(input, f);
    if (decoded) {
        require(inside(f.data, input) && inside(f.metadata, input));
        require(inside(f.setup.metadata_mime, input) && inside(f.setup.data_mime, input));
        require(f.has(flag::metadata) || f.metadata.empty() ||
                f.type == frame_type::metadata_push || f.type == frame_type::lease);
        if (f.type != frame_type::lease) {  // LEASE's TTL is not kept
            check_round_trip(f);
        }
    } else {
        // Every refusal is a code of the codec's category with a message for the ERROR frame.
        require(&decoded.error().category() == &error_category());
        require(!decoded.error().message().empty() && decoded.error().message() != "unknown");
    }

    // The same bytes as a TCP stream of length-prefixed frames.
    connection_limits limits;
    limits.max_reassembly_bytes = 1 << 16;
    limits.max_pending_requests = 4;
    const auto start = connection_state::clock::time_point{} + std::chrono::hours(1);
    connection_state state(limits, start);
    std::vector<std::string> outbound;
    std::string_view rest = input;
    std::uint32_t step = 0;
    while (rest.size() >= length_prefix_bytes && !state.closed()) {
        const std::size_t length = read_length_prefix(rest.data());
        rest.remove_prefix(length_prefix_bytes);
        if (length > rest.size()) {
            break;
        }
        const auto e =
            state.on_frame(rest.substr(0, length), start + std::chrono::seconds(step++), outbound);
        if (e.kind == connection_state::event_kind::setup) {
            std::string request;
            state.start_request(frame_type::request_response, "key", request);
        }
        rest.remove_prefix(length);
    }
    for (const std::string& out : outbound) {
        frame reply;
        require(out.size() >= length_prefix_bytes);
        require(decode_frame(std::string_view(out).substr(length_prefix_bytes), reply).has_value());
    }
    return 0;
}
