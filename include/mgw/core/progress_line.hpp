// Core: the progress line of long commands a person runs by hand (`broker import-promfetcher`,
// `check` on a large input): rewritten in place on a terminal, at most ten times a second, and
// erased when the work is done; nothing at all when standard error is a pipe or a log.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace mgw::core {

// Pure: it decides what to write and when, from the time it is given; the caller writes it.
// The first update is always shown, so even a short run on a terminal says what it did.
class progress_line {
  public:
    using clock = std::chrono::steady_clock;
    static constexpr clock::duration default_interval = std::chrono::milliseconds(100);

    explicit progress_line(bool enabled, clock::duration interval = default_interval);

    // What to write for `text` at `now`: a carriage return, erase-line and `text` when enabled,
    // the text changed and the last update is at least `interval` old; "" otherwise. `phase`
    // marks the first update of a new phase (reading, then importing): shown even within the
    // interval, so a long phase never sits under the previous phase's last words.
    std::string update(std::string_view text, clock::time_point now, bool phase = false);

    // What erases the shown line ("" when none is shown): before any other line goes to the
    // terminal, and when the work is done.
    std::string clear();

    bool enabled() const { return enabled_; }
    bool shown() const { return shown_; }
    std::uint64_t updates() const { return updates_; }

  private:
    bool enabled_;
    clock::duration interval_;
    bool shown_ = false;
    bool ever_ = false;
    clock::time_point last_{};
    std::string text_;
    std::uint64_t updates_ = 0;
};

// "0 B", "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB".
std::string format_bytes(std::uint64_t bytes);

// "reading: 1.5 MiB of 12.0 MiB (12%)"; without a total (0: unknown) "reading: 1.5 MiB".
std::string bytes_progress(std::string_view phase, std::uint64_t done, std::uint64_t total);

// "importing: 1234 of 5000 rows (24%)"; without a total (0) "importing: 1234 rows".
std::string count_progress(std::string_view phase, std::uint64_t done, std::uint64_t total,
                           std::string_view noun);

// The shell around progress_line for a command: writes to `out` (standard error) with the
// steady clock, and erases its line when it goes out of scope.
class progress_writer {
  public:
    progress_writer(std::ostream& out, bool enabled) : out_(out), line_(enabled) {}
    ~progress_writer() { clear(); }
    progress_writer(const progress_writer&) = delete;
    progress_writer& operator=(const progress_writer&) = delete;

    void show(std::string_view text, bool phase = false) {
        if (line_.enabled()) {
            write(line_.update(text, progress_line::clock::now(), phase));
        }
    }
    void clear() { write(line_.clear()); }

  private:
    void write(const std::string& bytes) {
        if (!bytes.empty()) {
            out_ << bytes << std::flush;
        }
    }

    std::ostream& out_;
    progress_line line_;
};

}  // namespace mgw::core
