// The RSocket frame codec: every field layout here is the one drawn in Protocol.md, big-endian.
#include <mgw/rsocket/frame.hpp>

namespace mgw::rsocket {

namespace {

std::uint32_t u16(const char* p) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(p[1]));
}

std::uint32_t u24(const char* p) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 16) | u16(p + 1);
}

std::uint32_t u32(const char* p) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 24) | u24(p + 1);
}

std::uint64_t u64(const char* p) {
    return (static_cast<std::uint64_t>(u32(p)) << 32) | u32(p + 4);
}

void put_u8(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>(v & 0xFF));
}
void put_u16(std::string& out, std::uint32_t v) {
    put_u8(out, v >> 8);
    put_u8(out, v);
}
void put_u24(std::string& out, std::uint32_t v) {
    put_u8(out, v >> 16);
    put_u16(out, v);
}
void put_u32(std::string& out, std::uint32_t v) {
    put_u16(out, v >> 16);
    put_u16(out, v);
}
void put_u64(std::string& out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
    put_u32(out, static_cast<std::uint32_t>(v));
}

bool known_type(std::uint8_t t) {
    return (t >= 0x01 && t <= 0x0E) || t == 0x3F;
}

// Frames that belong to the connection, not to a stream.
bool connection_level(frame_type t) {
    switch (t) {
        case frame_type::setup:
        case frame_type::lease:
        case frame_type::keepalive:
        case frame_type::metadata_push:
        case frame_type::resume:
        case frame_type::resume_ok:
            return true;
        default:
            return false;
    }
}

bool printable_ascii(std::string_view s) {
    for (char c : s) {
        if (c < 0x20 || c > 0x7E) {
            return false;
        }
    }
    return true;
}

// [metadata length, metadata] data: the tail of every frame that carries a payload.
decode_result decode_payload(std::string_view rest, frame& out) {
    if (out.has(flag::metadata)) {
        if (rest.size() < 3) {
            return errc::metadata_length;
        }
        const std::uint32_t length = u24(rest.data());
        rest.remove_prefix(3);
        if (length > rest.size()) {
            return errc::metadata_length;
        }
        out.metadata = rest.substr(0, length);
        rest.remove_prefix(length);
    }
    out.data = rest;
    return {};
}

decode_result decode_setup(std::string_view rest, frame& out) {
    if (rest.size() < 12) {
        return errc::truncated;
    }
    setup_fields& s = out.setup;
    s.major_version = static_cast<std::uint16_t>(u16(rest.data()));
    s.minor_version = static_cast<std::uint16_t>(u16(rest.data() + 2));
    s.keepalive_ms = u32(rest.data() + 4);
    s.max_lifetime_ms = u32(rest.data() + 8);
    if ((s.keepalive_ms | s.max_lifetime_ms) & 0x80000000U) {
        return errc::reserved_bit;
    }
    rest.remove_prefix(12);
    if (out.has(flag::resume_enable)) {
        if (rest.size() < 2) {
            return errc::truncated;
        }
        const std::uint32_t length = u16(rest.data());
        rest.remove_prefix(2);
        if (length > rest.size()) {
            return errc::truncated;
        }
        s.resume_token = rest.substr(0, length);
        rest.remove_prefix(length);
    }
    for (std::string_view* mime : {&s.metadata_mime, &s.data_mime}) {
        if (rest.empty()) {
            return errc::truncated;
        }
        const std::size_t length = static_cast<unsigned char>(rest.front());
        rest.remove_prefix(1);
        if (length > rest.size()) {
            return errc::bad_setup;
        }
        *mime = rest.substr(0, length);
        rest.remove_prefix(length);
        if (!printable_ascii(*mime)) {
            return errc::bad_setup;
        }
    }
    return decode_payload(rest, out);
}

}  // namespace

std::string_view to_string(frame_type type) {
    switch (type) {
        case frame_type::setup:
            return "SETUP";
        case frame_type::lease:
            return "LEASE";
        case frame_type::keepalive:
            return "KEEPALIVE";
        case frame_type::request_response:
            return "REQUEST_RESPONSE";
        case frame_type::request_fnf:
            return "REQUEST_FNF";
        case frame_type::request_stream:
            return "REQUEST_STREAM";
        case frame_type::request_channel:
            return "REQUEST_CHANNEL";
        case frame_type::request_n:
            return "REQUEST_N";
        case frame_type::cancel:
            return "CANCEL";
        case frame_type::payload:
            return "PAYLOAD";
        case frame_type::error:
            return "ERROR";
        case frame_type::metadata_push:
            return "METADATA_PUSH";
        case frame_type::resume:
            return "RESUME";
        case frame_type::resume_ok:
            return "RESUME_OK";
        case frame_type::ext:
            return "EXT";
    }
    return "UNKNOWN";
}

std::string_view error_code_name(std::uint32_t code) {
    switch (code) {
        case errors::invalid_setup:
            return "invalid_setup";
        case errors::unsupported_setup:
            return "unsupported_setup";
        case errors::rejected_setup:
            return "rejected_setup";
        case errors::rejected_resume:
            return "rejected_resume";
        case errors::connection_error:
            return "connection_error";
        case errors::connection_close:
            return "connection_close";
        case errors::application_error:
            return "application_error";
        case errors::rejected:
            return "rejected";
        case errors::canceled:
            return "canceled";
        case errors::invalid:
            return "invalid";
        default:
            return "other";
    }
}

namespace {

class rsocket_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.rsocket"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::truncated:
                return "frame shorter than its fixed fields";
            case errc::reserved_bit:
                return "reserved bit set";
            case errc::unknown_type:
                return "unknown frame type";
            case errc::stream_id_mismatch:
                return "frame type not allowed on this stream id";
            case errc::metadata_length:
                return "metadata length past the end of the frame";
            case errc::bad_setup:
                return "malformed SETUP MIME types";
            case errc::payload_without_n_or_c:
                return "PAYLOAD with neither NEXT nor COMPLETE";
        }
        return "unknown";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const rsocket_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

std::uint32_t read_length_prefix(const char* three_bytes) {
    return u24(three_bytes);
}

decode_result decode_frame(std::string_view bytes, frame& out) {
    out = frame{};
    if (bytes.size() < header_bytes) {
        return errc::truncated;
    }
    const std::uint32_t stream = u32(bytes.data());
    const std::uint32_t type_and_flags = u16(bytes.data() + 4);
    out.stream_id = stream & 0x7FFFFFFFU;
    out.flags = static_cast<std::uint16_t>(type_and_flags & 0x3FFU);
    const auto raw_type = static_cast<std::uint8_t>(type_and_flags >> 10);
    out.type = static_cast<frame_type>(raw_type);
    if (stream & 0x80000000U) {
        return errc::reserved_bit;
    }
    if (!known_type(raw_type)) {
        return errc::unknown_type;
    }
    if (out.type != frame_type::error && connection_level(out.type) != (out.stream_id == 0)) {
        return errc::stream_id_mismatch;
    }
    std::string_view rest = bytes.substr(header_bytes);
    switch (out.type) {
        case frame_type::setup:
            return decode_setup(rest, out);
        case frame_type::lease:
            if (rest.size() < 8) {
                return errc::truncated;
            }
            out.request_n = u32(rest.data() + 4);
            if (out.has(flag::metadata)) {
                out.metadata = rest.substr(8);
            }
            return {};
        case frame_type::keepalive:
            if (rest.size() < 8) {
                return errc::truncated;
            }
            out.last_position = u64(rest.data());
            if (out.last_position >> 63) {
                return errc::reserved_bit;
            }
            out.data = rest.substr(8);
            return {};
        case frame_type::request_response:
        case frame_type::request_fnf:
            return decode_payload(rest, out);
        case frame_type::request_stream:
        case frame_type::request_channel:
        case frame_type::ext:
            if (rest.size() < 4) {
                return errc::truncated;
            }
            out.request_n = u32(rest.data());
            if (out.type != frame_type::ext && (out.request_n & 0x80000000U)) {
                return errc::reserved_bit;
            }
            return decode_payload(rest.substr(4), out);
        case frame_type::request_n:
            if (rest.size() < 4) {
                return errc::truncated;
            }
            out.request_n = u32(rest.data());
            if (out.request_n & 0x80000000U) {
                return errc::reserved_bit;
            }
            return {};
        case frame_type::cancel:
        case frame_type::resume:
        case frame_type::resume_ok:
            out.data = rest;
            return {};
        case frame_type::payload:
            if (!out.has(flag::next) && !out.has(flag::complete) && !out.has(flag::follows)) {
                return errc::payload_without_n_or_c;
            }
            return decode_payload(rest, out);
        case frame_type::error:
            if (rest.size() < 4) {
                return errc::truncated;
            }
            out.error = u32(rest.data());
            out.data = rest.substr(4);
            return {};
        case frame_type::metadata_push:
            out.metadata = rest;
            return {};
    }
    return errc::unknown_type;
}

bool encode_frame(const frame& f, std::string& out, bool length_prefixed) {
    const std::size_t start = out.size();
    if (length_prefixed) {
        out.append(length_prefix_bytes, '\0');
    }
    const std::size_t body_start = out.size();
    put_u32(out, f.stream_id & 0x7FFFFFFFU);
    put_u16(out, (static_cast<std::uint32_t>(f.type) << 10) | (f.flags & 0x3FFU));
    auto payload = [&] {
        if (f.has(flag::metadata)) {
            if (f.metadata.size() > max_frame_bytes) {
                return false;
            }
            put_u24(out, static_cast<std::uint32_t>(f.metadata.size()));
            out.append(f.metadata);
        }
        out.append(f.data);
        return true;
    };
    bool ok = true;
    switch (f.type) {
        case frame_type::setup:
            put_u16(out, f.setup.major_version);
            put_u16(out, f.setup.minor_version);
            put_u32(out, f.setup.keepalive_ms);
            put_u32(out, f.setup.max_lifetime_ms);
            if (f.has(flag::resume_enable)) {
                put_u16(out, static_cast<std::uint32_t>(f.setup.resume_token.size()));
                out.append(f.setup.resume_token);
            }
            for (std::string_view mime : {f.setup.metadata_mime, f.setup.data_mime}) {
                put_u8(out, static_cast<std::uint32_t>(mime.size()));
                out.append(mime.substr(0, 0xFF));
            }
            ok = payload();
            break;
        case frame_type::keepalive:
            put_u64(out, f.last_position);
            out.append(f.data);
            break;
        case frame_type::request_stream:
        case frame_type::request_channel:
        case frame_type::ext:
            put_u32(out, f.request_n);
            ok = payload();
            break;
        case frame_type::request_n:
            put_u32(out, f.request_n);
            break;
        case frame_type::error:
            put_u32(out, f.error);
            out.append(f.data);
            break;
        case frame_type::lease:
            put_u32(out, 0);
            put_u32(out, f.request_n);
            out.append(f.metadata);
            break;
        case frame_type::metadata_push:
            out.append(f.metadata);
            break;
        case frame_type::cancel:
        case frame_type::resume:
        case frame_type::resume_ok:
            out.append(f.data);
            break;
        case frame_type::request_response:
        case frame_type::request_fnf:
        case frame_type::payload:
            ok = payload();
            break;
    }
    const std::size_t length = out.size() - body_start;
    if (!ok || length > max_frame_bytes) {
        out.resize(start);
        return false;
    }
    if (length_prefixed) {
        out[start] = static_cast<char>((length >> 16) & 0xFF);
        out[start + 1] = static_cast<char>((length >> 8) & 0xFF);
        out[start + 2] = static_cast<char>(length & 0xFF);
    }
    return true;
}

}  // namespace mgw::rsocket
