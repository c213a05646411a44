// Go-style durations: parsed term by term into nanoseconds with overflow checks, like Go's
// time.ParseDuration, then truncated to the millisecond resolution the gateway works in.
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include <mgw/core/duration.hpp>

namespace mgw::core {

namespace {

constexpr std::int64_t nanos_per_ms = 1'000'000;

// Longest units first so that "ms" is not read as "m" followed by garbage.
struct unit {
    std::string_view name;
    std::int64_t nanos;
};
constexpr unit units[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xc2\xb5s", 1'000},  // U+00B5 micro sign, as Go accepts
    {"\xce\xbcs", 1'000},  // U+03BC Greek mu, as Go accepts
    {"ms", nanos_per_ms},
    {"s", 1'000 * nanos_per_ms},
    {"m", 60'000 * nanos_per_ms},
    {"h", 3'600'000 * nanos_per_ms},
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

const unit* match_unit(std::string_view rest) {
    const unit* best = nullptr;
    for (const unit& u : units) {
        if (rest.starts_with(u.name) && (best == nullptr || u.name.size() > best->name.size())) {
            best = &u;
        }
    }
    return best;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text == "0") {
        return std::chrono::milliseconds{0};
    }
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t total = 0;  // nanoseconds
    std::string_view rest = text;
    while (!rest.empty()) {
        std::int64_t whole = 0;
        std::size_t digits = 0;
        bool overflow = false;
        while (!rest.empty() && is_digit(rest.front())) {
            if (__builtin_mul_overflow(whole, 10, &whole) ||
                __builtin_add_overflow(whole, rest.front() - '0', &whole)) {
                overflow = true;
            }
            rest.remove_prefix(1);
            ++digits;
        }
        // Digits after the point beyond nanosecond precision of an hour cannot matter.
        std::int64_t fraction = 0;
        std::int64_t fraction_scale = 1;
        std::size_t fraction_digits = 0;
        if (!rest.empty() && rest.front() == '.') {
            rest.remove_prefix(1);
            while (!rest.empty() && is_digit(rest.front())) {
                if (fraction_scale < 1'000'000'000'000'000) {
                    fraction = fraction * 10 + (rest.front() - '0');
                    fraction_scale *= 10;
                }
                rest.remove_prefix(1);
                ++fraction_digits;
            }
        }
        if (overflow || digits + fraction_digits == 0) {
            return std::nullopt;
        }
        const unit* u = match_unit(rest);
        if (u == nullptr) {
            return std::nullopt;
        }
        rest.remove_prefix(u->name.size());
        std::int64_t term = 0;
        if (__builtin_mul_overflow(whole, u->nanos, &term)) {
            return std::nullopt;
        }
        // fraction / fraction_scale < 1, so this term is below one unit and cannot overflow.
        const auto fraction_nanos = static_cast<std::int64_t>(
            static_cast<long double>(fraction) * static_cast<long double>(u->nanos) /
            static_cast<long double>(fraction_scale));
        if (__builtin_add_overflow(term, fraction_nanos, &term) ||
            __builtin_add_overflow(total, term, &total)) {
            return std::nullopt;
        }
    }
    return std::chrono::milliseconds{total / nanos_per_ms};
}

std::string format_duration(std::chrono::milliseconds value) {
    std::int64_t ms = value.count();
    if (ms == 0) {
        return "0s";
    }
    std::string out;
    if (ms < 0) {
        out.push_back('-');
        if (ms == std::numeric_limits<std::int64_t>::min()) {
            // Not representable as a positive count; only reachable by programming error.
            return fmt::format("{}ms", ms);
        }
        ms = -ms;
    }
    if (ms < 1000) {
        fmt::format_to(std::back_inserter(out), "{}ms", ms);
        return out;
    }
    const std::int64_t hours = ms / 3'600'000;
    const std::int64_t minutes = ms / 60'000 % 60;
    const std::int64_t seconds = ms / 1000 % 60;
    const std::int64_t millis = ms % 1000;
    if (hours != 0) {
        fmt::format_to(std::back_inserter(out), "{}h", hours);
    }
    if (minutes != 0) {
        fmt::format_to(std::back_inserter(out), "{}m", minutes);
    }
    if (millis != 0) {
        std::string fraction = fmt::format("{:03}", millis);
        while (fraction.back() == '0') {
            fraction.pop_back();
        }
        fmt::format_to(std::back_inserter(out), "{}.{}s", seconds, fraction);
    } else if (seconds != 0) {
        fmt::format_to(std::back_inserter(out), "{}s", seconds);
    }
    return out;
}

}  // namespace mgw::core
