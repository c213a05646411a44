// What the HTTP/2 transport's outcomes mean to a call, without a session: the gRPC spec's
// table for an HTTP status in place of a gRPC answer, the RST_STREAM codes (RFC 9113 §7, by
// number), and the GOAWAY frame the core writes itself, byte by byte and as nghttp2 reads it.
#include <cstdint>
#include <limits>
#include <nghttp2/nghttp2.h>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "grpc/transport_status.hpp"

using namespace mgw::grpc;

namespace {

std::uint32_t u32_at(std::string_view bytes, std::size_t at) {
    return (std::uint32_t{static_cast<std::uint8_t>(bytes[at])} << 24) |
           (std::uint32_t{static_cast<std::uint8_t>(bytes[at + 1])} << 16) |
           (std::uint32_t{static_cast<std::uint8_t>(bytes[at + 2])} << 8) |
           std::uint32_t{static_cast<std::uint8_t>(bytes[at + 3])};
}

// What a real HTTP/2 client session makes of `frame` after the server's SETTINGS.
struct received_goaway {
    bool seen = false;
    std::int32_t last_stream_id = -1;
    std::uint32_t error_code = 0;
    std::string debug;
};

received_goaway read_with_nghttp2(const std::string& frame) {
    received_goaway got;
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* user_data) {
            if (f->hd.type == NGHTTP2_GOAWAY) {
                auto& g = *static_cast<received_goaway*>(user_data);
                g.seen = true;
                g.last_stream_id = f->goaway.last_stream_id;
                g.error_code = f->goaway.error_code;
                g.debug.assign(reinterpret_cast<const char*>(f->goaway.opaque_data),
                               f->goaway.opaque_data_len);
            }
            return 0;
        });
    nghttp2_session* session = nullptr;
    nghttp2_session_client_new(&session, cbs, &got);
    nghttp2_session_callbacks_del(cbs);
    const std::string bytes = std::string("\0\0\0\x04\0\0\0\0\0", 9) + frame;  // empty SETTINGS
    const ssize_t used = nghttp2_session_mem_recv(
        session, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    CHECK(used == static_cast<ssize_t>(bytes.size()));
    nghttp2_session_del(session);
    return got;
}

}  // namespace

TEST_CASE("an HTTP status in place of a gRPC answer maps as the gRPC spec's table") {
    CHECK(status_of_http("400") == status_code::internal);
    CHECK(status_of_http("401") == status_code::unauthenticated);
    CHECK(status_of_http("403") == status_code::permission_denied);
    CHECK(status_of_http("404") == status_code::unimplemented);
    CHECK(status_of_http("429") == status_code::unavailable);
    CHECK(status_of_http("502") == status_code::unavailable);
    CHECK(status_of_http("503") == status_code::unavailable);
    CHECK(status_of_http("504") == status_code::unavailable);
    // Every other status, and what is no status at all, is UNKNOWN.
    for (const std::string_view other :
         {"200", "405", "415", "500", "501", "505", "402", "4040", "40", "", " 404", "404 "}) {
        INFO(other);
        CHECK(status_of_http(other) == status_code::unknown);
    }
}

TEST_CASE("a stream reset maps its RST_STREAM code to a status") {
    // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT,
    // FRAME_SIZE_ERROR, COMPRESSION_ERROR, CONNECT_ERROR.
    for (const std::uint32_t code : {0x0U, 0x1U, 0x2U, 0x3U, 0x4U, 0x6U, 0x9U, 0xaU}) {
        INFO(code);
        CHECK(status_of_reset(code) == status_code::internal);
    }
    CHECK(status_of_reset(0x7) == status_code::unavailable);         // REFUSED_STREAM
    CHECK(status_of_reset(0x8) == status_code::cancelled);           // CANCEL
    CHECK(status_of_reset(0xb) == status_code::resource_exhausted);  // ENHANCE_YOUR_CALM
    CHECK(status_of_reset(0xc) == status_code::permission_denied);   // INADEQUATE_SECURITY
    // STREAM_CLOSED (the spec maps it to nothing: no open stream to tell), HTTP_1_1_REQUIRED
    // and codes RFC 9113 does not define.
    for (const std::uint32_t code :
         {0x5U, 0xdU, 0xeU, 0xffU, std::numeric_limits<std::uint32_t>::max()}) {
        INFO(code);
        CHECK(status_of_reset(code) == status_code::unknown);
    }
}

TEST_CASE("the hand-written GOAWAY: type 0x7 on stream 0, last stream id, error code, debug") {
    const std::string frame = goaway_frame(7, 11, "too_many_pings");
    REQUIRE(frame.size() == 9 + 8 + 14);
    CHECK(frame.substr(0, 3) == std::string("\0\0\x16", 3));  // length 8 + 14
    CHECK(frame[3] == '\x07');                                // GOAWAY
    CHECK(frame[4] == '\0');                                  // no flags
    CHECK(u32_at(frame, 5) == 0);                             // stream 0
    CHECK(u32_at(frame, 9) == 7);                             // last stream id
    CHECK(u32_at(frame, 13) == 11);                           // ENHANCE_YOUR_CALM
    CHECK(frame.substr(17) == "too_many_pings");

    const received_goaway got = read_with_nghttp2(frame);
    CHECK(got.seen);
    CHECK(got.last_stream_id == 7);
    CHECK(got.error_code == 11);
    CHECK(got.debug == "too_many_pings");
}

TEST_CASE("the hand-written GOAWAY without debug data, and with a length past one byte") {
    const std::string bare = goaway_frame(0, 1, "");
    CHECK(bare == std::string("\0\0\x08\x07\0\0\0\0\0\0\0\0\0\0\0\0\x01", 17));
    const received_goaway got = read_with_nghttp2(bare);
    CHECK(got.seen);
    CHECK(got.last_stream_id == 0);
    CHECK(got.error_code == 1);
    CHECK(got.debug.empty());

    const std::string debug(300, 'x');
    const std::string big = goaway_frame(std::numeric_limits<stream_id>::max(), 2, debug);
    REQUIRE(big.size() == 9 + 8 + 300);
    CHECK(big.substr(0, 3) == std::string("\0\x01\x34", 3));  // 308
    CHECK(u32_at(big, 9) == 0x7fffffffU);
    CHECK(read_with_nghttp2(big).debug == debug);
}

TEST_CASE("the hand-written GOAWAY clears the reserved bit of the last stream id") {
    const std::string frame = goaway_frame(-1, 0, "");
    CHECK(u32_at(frame, 9) == 0x7fffffffU);
    CHECK(u32_at(frame, 13) == 0);
}
