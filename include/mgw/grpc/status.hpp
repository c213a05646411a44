// gRPC module: the status codes a call ends with (`grpc-status`) and the percent-encoding of
// its `grpc-message`, as the gRPC-over-HTTP/2 protocol defines them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mgw::grpc {

enum class status_code : std::uint8_t {
    ok = 0,
    cancelled = 1,
    unknown = 2,
    invalid_argument = 3,
    deadline_exceeded = 4,
    not_found = 5,
    already_exists = 6,
    permission_denied = 7,
    resource_exhausted = 8,
    failed_precondition = 9,
    aborted = 10,
    out_of_range = 11,
    unimplemented = 12,
    internal = 13,
    unavailable = 14,
    data_loss = 15,
    unauthenticated = 16,
};

// "OK", "CANCELLED", ... as every gRPC implementation names them (a fixed set: usable as a
// metric label).
std::string_view to_string(status_code code);

// The code of a `grpc-status` value; nullopt when it is not a decimal number of 0..16 (a code
// from a newer protocol revision is UNKNOWN to the caller then, as the spec asks).
std::optional<status_code> parse_status_code(std::string_view value);

// `grpc-message` is percent-encoded UTF-8: bytes outside 0x20..0x7E and '%' become %XX.
std::string percent_encode(std::string_view message);
// Decodes %XX; a malformed escape is kept as it is (the spec: never fail a call over it).
std::string percent_decode(std::string_view encoded);

}  // namespace mgw::grpc
