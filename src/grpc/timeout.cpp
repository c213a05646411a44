// grpc-timeout: "TimeoutValue TimeoutUnit", value a positive integer of at most 8 digits.
#include "timeout.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace mgw::grpc {

namespace {

struct unit {
    char symbol;
    std::int64_t nanoseconds;
};

// Finest first, so format_timeout picks the most precise unit that fits.
constexpr std::array<unit, 6> units{{
    {'n', 1},
    {'u', 1'000},
    {'m', 1'000'000},
    {'S', 1'000'000'000},
    {'M', 60'000'000'000},
    {'H', 3'600'000'000'000},
}};

constexpr std::int64_t max_value = 99'999'999;

}  // namespace

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
    if (value.size() < 2 || value.size() > 9) {
        return std::nullopt;
    }
    const char symbol = value.back();
    value.remove_suffix(1);
    std::int64_t n = 0;
    for (char c : value) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + (c - '0');
    }
    for (const unit& u : units) {
        if (u.symbol == symbol) {
            // 2^63 ns is about 292 years; 99,999,999 hours is 11,000: saturate, a deadline that
            // far is no deadline.
            if (n > std::numeric_limits<std::int64_t>::max() / u.nanoseconds) {
                return std::chrono::nanoseconds::max();
            }
            return std::chrono::nanoseconds(n * u.nanoseconds);
        }
    }
    return std::nullopt;
}

std::string format_timeout(std::chrono::nanoseconds timeout) {
    const std::int64_t ns = timeout.count();
    if (ns <= 0) {
        return "1n";
    }
    for (const unit& u : units) {
        const std::int64_t rounded_up = (ns + u.nanoseconds - 1) / u.nanoseconds;
        if (rounded_up <= max_value) {
            return std::to_string(rounded_up) + u.symbol;
        }
    }
    return std::to_string(max_value) + 'H';
}

}  // namespace mgw::grpc
