// The progress line's rate limit and texts (see the header): kept apart from the commands so the
// limit is tested with a clock the test moves, not by waiting.
#include <algorithm>

#include <fmt/format.h>

#include <mgw/core/progress_line.hpp>

namespace mgw::core {

namespace {

// What a terminal needs to rewrite the current line: back to its start, erase to its end.
constexpr std::string_view rewrite = "\r\033[K";

std::uint64_t percent(std::uint64_t done, std::uint64_t total) {
    if (done >= total) {
        return 100;
    }
    // done < total here, so done * 100 only overflows for totals above 2^57: divide first then
    // (which may round up, and 100% is kept for work that is done).
    const std::uint64_t p =
        total > (std::uint64_t{1} << 57) ? done / (total / 100) : done * 100 / total;
    return std::min<std::uint64_t>(p, 99);
}

}  // namespace

progress_line::progress_line(bool enabled, clock::duration interval)
    : enabled_(enabled), interval_(interval) {}

std::string progress_line::update(std::string_view text, clock::time_point now, bool phase) {
    if (!enabled_ || (shown_ && text == text_)) {
        return {};
    }
    if (ever_ && !phase && now - last_ < interval_) {
        return {};
    }
    ever_ = true;
    shown_ = true;
    last_ = now;
    text_.assign(text);
    ++updates_;
    std::string out(rewrite);
    out.append(text);
    return out;
}

std::string progress_line::clear() {
    if (!shown_) {
        return {};
    }
    shown_ = false;
    text_.clear();
    return std::string(rewrite);
}

std::string format_bytes(std::uint64_t bytes) {
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string bytes_progress(std::string_view phase, std::uint64_t done, std::uint64_t total) {
    if (total == 0) {
        return fmt::format("{}: {}", phase, format_bytes(done));
    }
    return fmt::format("{}: {} of {} ({}%)", phase, format_bytes(done), format_bytes(total),
                       percent(done, total));
}

std::string count_progress(std::string_view phase, std::uint64_t done, std::uint64_t total,
                           std::string_view noun) {
    if (total == 0) {
        return fmt::format("{}: {} {}", phase, done, noun);
    }
    return fmt::format("{}: {} of {} {} ({}%)", phase, done, total, noun, percent(done, total));
}

}  // namespace mgw::core
