// gRPC module: the `grpc-timeout` request header (at most 8 digits and a unit: H M S m u n),
// parsed into the call's deadline and written by clients.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mgw::grpc {

// nullopt when malformed (empty, more than 8 digits, no or an unknown unit).
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

// The shortest exact-or-rounded-up encoding that fits 8 digits (a deadline never shrinks when
// written); non-positive durations become "1n".
std::string format_timeout(std::chrono::nanoseconds timeout);

}  // namespace mgw::grpc
