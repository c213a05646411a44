// The header collection of one stream: nghttp2 hands the fields of a block one by one; the
// pseudo-headers and the transport's own headers are kept apart from the call's metadata, and
// the block's decoded size is held to the advertised limit.
#include "stream_state.hpp"

namespace mgw::grpc {

namespace {

bool is_reserved_header(std::string_view name) {
    return name == "te" || name == "grpc-timeout" || name == "content-type" ||
           name == "grpc-encoding" || name == "grpc-accept-encoding";
}

}  // namespace

void connection::stream_state::begin_header_block() {
    headers.entries.clear();
    header_bytes = 0;
    header_overflow = false;
    grpc_status.clear();
    grpc_message.clear();
}

void connection::stream_state::collect_header(std::string_view n, std::string_view v,
                                              std::size_t max_header_list_bytes,
                                              bool keep_transport_headers) {
    header_bytes += n.size() + v.size() + 32;
    if (header_bytes > max_header_list_bytes) {
        header_overflow = true;
    }
    if (header_overflow) {
        return;
    }
    if (!n.empty() && n.front() == ':') {
        if (n == ":method") {
            method = v;
        } else if (n == ":path") {
            path = v;
        } else if (n == ":authority") {
            authority = v;
        } else if (n == ":status") {
            http_status = v;
        }
        return;
    }
    if (n == "content-type") {
        content_type = v;
    } else if (n == "te") {
        te = v;
    } else if (n == "grpc-timeout") {
        timeout = v;
    } else if (n == "grpc-encoding") {
        encoding = v;
    } else if (n == "grpc-status") {
        grpc_status = v;
        return;
    } else if (n == "grpc-message") {
        grpc_message = v;
        return;
    } else if (n == "host" && authority.empty()) {
        authority = v;
    }
    // A client shows the response's whole (grpc-accept-encoding, content-type...).
    if (keep_transport_headers || !is_reserved_header(n)) {
        headers.add(std::string(n), std::string(v));
    }
}

}  // namespace mgw::grpc
