// RSocket module: the frame codec of RSocket protocol 1.0 (big-endian, Protocol.md layouts).
// Pure: bytes to frames and frames to bytes, no I/O; of Boost only the header-only error codes,
// so it also builds for fuzzing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::rsocket {

enum class frame_type : std::uint8_t {
    setup = 0x01,
    lease = 0x02,
    keepalive = 0x03,
    request_response = 0x04,
    request_fnf = 0x05,
    request_stream = 0x06,
    request_channel = 0x07,
    request_n = 0x08,
    cancel = 0x09,
    payload = 0x0A,
    error = 0x0B,
    metadata_push = 0x0C,
    resume = 0x0D,
    resume_ok = 0x0E,
    ext = 0x3F,
};

std::string_view to_string(frame_type type);

// The 10 flag bits of the header; some bits mean different things per frame type.
namespace flag {
inline constexpr std::uint16_t ignore = 0x200;
inline constexpr std::uint16_t metadata = 0x100;
inline constexpr std::uint16_t follows = 0x080;
inline constexpr std::uint16_t complete = 0x040;
inline constexpr std::uint16_t next = 0x020;
inline constexpr std::uint16_t resume_enable = 0x080;  // SETUP
inline constexpr std::uint16_t lease = 0x040;          // SETUP
inline constexpr std::uint16_t respond = 0x080;        // KEEPALIVE
}  // namespace flag

// ERROR frame codes.
namespace errors {
inline constexpr std::uint32_t invalid_setup = 0x001;
inline constexpr std::uint32_t unsupported_setup = 0x002;
inline constexpr std::uint32_t rejected_setup = 0x003;
inline constexpr std::uint32_t rejected_resume = 0x004;
inline constexpr std::uint32_t connection_error = 0x101;
inline constexpr std::uint32_t connection_close = 0x102;
inline constexpr std::uint32_t application_error = 0x201;
inline constexpr std::uint32_t rejected = 0x202;
inline constexpr std::uint32_t canceled = 0x203;
inline constexpr std::uint32_t invalid = 0x204;
}  // namespace errors

// The name of an ERROR code ("application_error", ...): a fixed set, so that codes a client
// sends can be counted without becoming label values of their own. Codes the protocol does
// not define are "other".
std::string_view error_code_name(std::uint32_t code);

// The 24-bit length field limits a frame (TCP) and a metadata block alike.
inline constexpr std::size_t max_frame_bytes = 0xFFFFFF;
inline constexpr std::size_t header_bytes = 6;
inline constexpr std::size_t length_prefix_bytes = 3;

struct setup_fields {
    std::uint16_t major_version = 1;
    std::uint16_t minor_version = 0;
    std::uint32_t keepalive_ms = 0;
    std::uint32_t max_lifetime_ms = 0;
    std::string_view resume_token;  // only with flag::resume_enable
    std::string_view metadata_mime;
    std::string_view data_mime;
};

// One decoded frame. The views point into the decoded buffer (or, for a reassembled frame,
// into the reassembler) and are only valid as long as it.
struct frame {
    std::uint32_t stream_id = 0;
    frame_type type = frame_type::cancel;
    std::uint16_t flags = 0;
    setup_fields setup;               // SETUP
    std::uint64_t last_position = 0;  // KEEPALIVE
    std::uint32_t request_n = 0;      // REQUEST_STREAM, REQUEST_CHANNEL, REQUEST_N
    std::uint32_t error = 0;          // ERROR: the code; the message is `data`
    std::string_view metadata;        // present only when has(flag::metadata)
    std::string_view data;

    bool has(std::uint16_t f) const { return (flags & f) != 0; }
};

// Why a frame was refused, as an error_code of the category "mgw.rsocket" (docs/DEVELOPING.md,
// "Errors"). The message of each is what the ERROR frame that closes the connection says after
// "invalid frame: ".
enum class errc {
    truncated = 1,           // shorter than the frame type's fixed fields
    reserved_bit,            // the high bit of the stream id or of a 31-bit field is set
    unknown_type,            // a type this codec does not know (the caller checks the I flag)
    stream_id_mismatch,      // a connection frame on a stream, or a stream frame on stream 0
    metadata_length,         // the metadata length runs past the end of the frame
    bad_setup,               // bad MIME lengths or non-ASCII MIME types
    payload_without_n_or_c,  // PAYLOAD with neither NEXT nor COMPLETE
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

// The codec has nothing to add to the code: the error is the error_code itself.
using decode_result = boost::system::result<void, boost::system::error_code>;

// Decodes one frame without length prefix (a TCP frame after its 3 length bytes, or one
// WebSocket message) into `out`. The frame is an out-argument rather than the result's value
// because a refused frame still yields its header: for errc::unknown_type `out.type` holds the
// raw type and `out.flags` the I flag, so the caller can ignore the frame when allowed.
decode_result decode_frame(std::string_view bytes, frame& out);

// The 24-bit length of the prefix that precedes every frame on TCP.
std::uint32_t read_length_prefix(const char* three_bytes);

// Appends the frame's encoding, with the 3-byte TCP length prefix when `length_prefixed`.
// The fields used are the ones of `f.type`; metadata is written (with its 24-bit length) when
// f.has(flag::metadata). Frames longer than max_frame_bytes, or metadata longer than 2^24 - 1,
// are the caller's mistake: the function returns false and leaves `out` as it was.
bool encode_frame(const frame& f, std::string& out, bool length_prefixed);

}  // namespace mgw::rsocket

template <>
struct boost::system::is_error_code_enum<mgw::rsocket::errc> : std::true_type {};
