// gRPC module, internal: what the HTTP/2 transport's outcomes mean to a gRPC call, and the
// one frame the connection writes without nghttp2. Split from the connection core because they
// are pure tables and bytes (a status from an HTTP status or an RST_STREAM code, the GOAWAY that
// ends a failed connection), tested on their own without a session.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <mgw/grpc/connection.hpp>
#include <mgw/grpc/status.hpp>

namespace mgw::grpc {

// The status a client sees when the server answered with an HTTP status instead of gRPC
// ("HTTP to gRPC Status Code Mapping"): `http_status` is the `:status` value as received.
status_code status_of_http(std::string_view http_status);

// The status of a stream reset by the server, as grpc-go's client maps RST_STREAM codes.
status_code status_of_reset(std::uint32_t h2_error);

// A GOAWAY frame written by hand, for when nghttp2's session can no longer write (after a
// callback stopped it because the peer was flooding): frame header, last stream id (its
// reserved bit cleared), error code, then `debug` as the opaque data.
std::string goaway_frame(stream_id last_stream, std::uint32_t h2_error, std::string_view debug);

}  // namespace mgw::grpc
