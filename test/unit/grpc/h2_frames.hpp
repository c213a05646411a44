// Raw HTTP/2 frames for the gRPC core's tests: what a misbehaving peer sends (floods, non-gRPC
// requests), written byte by byte, with nghttp2's own HPACK coder for header blocks.
#pragma once

#include <cstdint>
#include <nghttp2/nghttp2.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_h2 {

struct frame {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::uint32_t stream = 0;
    std::string payload;
};

inline std::string frame_bytes(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                               std::string_view payload) {
    std::string out;
    const auto n = static_cast<std::uint32_t>(payload.size());
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
    out += static_cast<char>(type);
    out += static_cast<char>(flags);
    out += static_cast<char>((stream >> 24) & 0x7f);
    out += static_cast<char>((stream >> 16) & 0xff);
    out += static_cast<char>((stream >> 8) & 0xff);
    out += static_cast<char>(stream & 0xff);
    out += payload;
    return out;
}

inline std::string settings() {
    return frame_bytes(NGHTTP2_SETTINGS, 0, 0, "");
}

inline std::string client_preface() {
    return std::string(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN) + settings();
}

inline std::string ping(std::uint64_t opaque) {
    std::string payload(8, '\0');
    for (int i = 0; i < 8; ++i) {
        payload[static_cast<std::size_t>(i)] = static_cast<char>((opaque >> (8 * i)) & 0xff);
    }
    return frame_bytes(NGHTTP2_PING, 0, 0, payload);
}

inline std::string empty_data(std::uint32_t stream) {
    return frame_bytes(NGHTTP2_DATA, 0, stream, "");
}

// A HEADERS frame (END_HEADERS, END_STREAM) of these fields, HPACK-coded by a fresh deflater.
inline std::string request_headers(std::uint32_t stream,
                                   const std::vector<std::pair<std::string, std::string>>& fields) {
    nghttp2_hd_deflater* deflater = nullptr;
    nghttp2_hd_deflate_new(&deflater, 4096);
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
        nva.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                                 reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                                 name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::string block(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
    const auto n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<std::uint8_t*>(block.data()),
                                         block.size(), nva.data(), nva.size());
    nghttp2_hd_deflate_del(deflater);
    block.resize(static_cast<std::size_t>(n));
    return frame_bytes(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, stream,
                       block);
}

inline std::vector<frame> parse_frames(std::string_view bytes) {
    std::vector<frame> frames;
    while (bytes.size() >= 9) {
        const auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
        const std::uint32_t length =
            (std::uint32_t{u(0)} << 16) | (std::uint32_t{u(1)} << 8) | u(2);
        if (bytes.size() < 9 + length) {
            break;
        }
        frame f;
        f.type = u(3);
        f.flags = u(4);
        f.stream = ((std::uint32_t{u(5)} & 0x7f) << 24) | (std::uint32_t{u(6)} << 16) |
                   (std::uint32_t{u(7)} << 8) | u(8);
        f.payload = std::string(bytes.substr(9, length));
        frames.push_back(std::move(f));
        bytes.remove_prefix(9 + length);
    }
    return frames;
}

inline std::uint32_t goaway_error(const frame& f) {
    const auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(f.payload.at(i)); };
    return (std::uint32_t{u(4)} << 24) | (std::uint32_t{u(5)} << 16) | (std::uint32_t{u(6)} << 8) |
           u(7);
}

// The :status of every HEADERS frame in `bytes`, in order (one inflater for the connection).
inline std::vector<std::string> response_statuses(std::string_view bytes) {
    std::vector<std::string> statuses;
    nghttp2_hd_inflater* inflater = nullptr;
    nghttp2_hd_inflate_new(&inflater);
    for (const frame& f : parse_frames(bytes)) {
        if (f.type != NGHTTP2_HEADERS) {
            continue;
        }
        auto* in = reinterpret_cast<const std::uint8_t*>(f.payload.data());
        std::size_t left = f.payload.size();
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            const auto used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
            if (used < 0) {
                break;
            }
            in += used;
            left -= static_cast<std::size_t>(used);
            if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0 &&
                std::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen) == ":status") {
                statuses.emplace_back(reinterpret_cast<const char*>(nv.value), nv.valuelen);
            }
            if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
                nghttp2_hd_inflate_end_headers(inflater);
                break;
            }
            if (used == 0 && (flags & NGHTTP2_HD_INFLATE_EMIT) == 0) {
                break;
            }
        }
    }
    nghttp2_hd_inflate_del(inflater);
    return statuses;
}

}  // namespace test_h2
