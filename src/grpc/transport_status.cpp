// The HTTP/2 transport's outcomes as gRPC statuses, and the GOAWAY frame written by hand (see
// transport_status.hpp): pure functions the connection core calls, apart so that their tables
// and bytes are tested without a session.
#include "transport_status.hpp"

#include <nghttp2/nghttp2.h>

namespace mgw::grpc {

namespace {

void append_u32(std::string& out, std::uint32_t v) {
    out += static_cast<char>((v >> 24) & 0xff);
    out += static_cast<char>((v >> 16) & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
}

}  // namespace

status_code status_of_http(std::string_view http_status) {
    if (http_status == "400") {
        return status_code::internal;
    }
    if (http_status == "401") {
        return status_code::unauthenticated;
    }
    if (http_status == "403") {
        return status_code::permission_denied;
    }
    if (http_status == "404") {
        return status_code::unimplemented;
    }
    if (http_status == "429" || http_status == "502" || http_status == "503" ||
        http_status == "504") {
        return status_code::unavailable;
    }
    return status_code::unknown;
}

status_code status_of_reset(std::uint32_t h2_error) {
    switch (h2_error) {
        case NGHTTP2_NO_ERROR:
        case NGHTTP2_PROTOCOL_ERROR:
        case NGHTTP2_INTERNAL_ERROR:
        case NGHTTP2_FLOW_CONTROL_ERROR:
        case NGHTTP2_SETTINGS_TIMEOUT:
        case NGHTTP2_FRAME_SIZE_ERROR:
        case NGHTTP2_COMPRESSION_ERROR:
        case NGHTTP2_CONNECT_ERROR:
            return status_code::internal;
        case NGHTTP2_REFUSED_STREAM:
            return status_code::unavailable;
        case NGHTTP2_CANCEL:
            return status_code::cancelled;
        case NGHTTP2_ENHANCE_YOUR_CALM:
            return status_code::resource_exhausted;
        case NGHTTP2_INADEQUATE_SECURITY:
            return status_code::permission_denied;
        default:
            return status_code::unknown;
    }
}

std::string goaway_frame(stream_id last_stream, std::uint32_t h2_error, std::string_view debug) {
    const std::uint32_t length = 8 + static_cast<std::uint32_t>(debug.size());
    std::string out;
    out += static_cast<char>((length >> 16) & 0xff);
    out += static_cast<char>((length >> 8) & 0xff);
    out += static_cast<char>(length & 0xff);
    out += static_cast<char>(NGHTTP2_GOAWAY);
    out += '\0';
    append_u32(out, 0);
    append_u32(out, static_cast<std::uint32_t>(last_stream) & 0x7fffffffU);
    append_u32(out, h2_error);
    out += debug;
    return out;
}

}  // namespace mgw::grpc
