// gRPC module, internal: the adapter between nghttp2 and a connection. nghttp2 reports what it
// reads (frames, header fields, DATA chunks, stream closes) and asks for DATA payloads through
// C callbacks; these turn each into the connection's stream_state and events. Split from the
// connection core so that the core reads as the state machine behind its public calls, and
// what nghttp2 calls, when, and with what, is in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nghttp2/nghttp2.h>
#include <string_view>
#include <sys/types.h>

#include <mgw/grpc/connection.hpp>

namespace mgw::grpc {

// A header field as nghttp2 takes it: views, no copy (nghttp2 copies on submit).
inline nghttp2_nv make_nv(std::string_view name, std::string_view value) {
    return nghttp2_nv{
        reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
        reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
        name.size(),
        value.size(),
        NGHTTP2_NV_FLAG_NONE,
    };
}

// The nghttp2 callbacks, as static functions reaching the connection through user_data. nghttp2
// calls them only from inside mem_recv and mem_send; what they produce waits in pending_.
struct connection::callbacks {
    static connection& self(void* user_data) { return *static_cast<connection*>(user_data); }

    // Receiving: a header block starts, one field of it, a whole frame, a DATA chunk, a stream
    // closed (by either side).
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_length, const std::uint8_t* value,
                         std::size_t value_length, std::uint8_t flags, void* user_data);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
    static int on_data_chunk_recv(nghttp2_session*, std::uint8_t flags, std::int32_t stream,
                                  const std::uint8_t* data, std::size_t length, void* user_data);
    static int on_stream_close(nghttp2_session*, std::int32_t stream, std::uint32_t error_code,
                               void* user_data);

    // Sending: a frame went out; a stream's data provider sizes its next DATA frame
    // (read_data), which send_data then writes.
    static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
    static ssize_t read_data(nghttp2_session* session, std::int32_t stream, std::uint8_t* buffer,
                             std::size_t length, std::uint32_t* data_flags,
                             nghttp2_data_source* source, void* user_data);
    static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* header,
                         std::size_t length, nghttp2_data_source* source, void* user_data);
};

}  // namespace mgw::grpc
