// Structured logging for the whole gateway: one line per event, JSON lines by default or
// key=value text for humans. No global logger: components receive a `logger&`.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace mgw::core {

enum class log_level { debug, info, warn, error };
enum class log_format { json, text };

// Parses "debug" | "info" | "warn" | "error"; returns false on anything else.
bool parse_log_level(std::string_view text, log_level& out);
std::string_view to_string(log_level level);
// Parses "json" | "text"; returns false on anything else.
bool parse_log_format(std::string_view text, log_format& out);
std::string_view to_string(log_format format);

struct log_field {
    using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

    std::string_view key;
    value_type value;

    log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
    log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    log_field(std::string_view k, bool v) : key(k), value(v) {}
    log_field(std::string_view k, double v) : key(k), value(v) {}
    template <typename Integer>
    requires std::is_integral_v<Integer> && std::is_signed_v<Integer> log_field(std::string_view k,
                                                                                Integer v)
        : key(k), value(static_cast<std::int64_t>(v)) {}
    template <typename Integer>
    requires std::is_integral_v<Integer> && std::is_unsigned_v<Integer> &&
        (!std::is_same_v<Integer, bool>)log_field(std::string_view k, Integer v)
        : key(k), value(static_cast<std::uint64_t>(v)) {}
};

using log_fields = std::initializer_list<log_field>;

// Thread-safe: each event is formatted into a local buffer and written with one write(2),
// so lines from different threads never interleave.
class logger {
  public:
    explicit logger(log_level min_level = log_level::info, log_format format = log_format::json,
                    int fd = 2);

    void set_level(log_level level) { min_level_.store(level, std::memory_order_relaxed); }
    void set_format(log_format format) { format_.store(format, std::memory_order_relaxed); }
    bool enabled(log_level level) const {
        return level >= min_level_.load(std::memory_order_relaxed);
    }

    void log(log_level level, std::string_view message, log_fields fields = {});
    void debug(std::string_view message, log_fields fields = {}) {
        log(log_level::debug, message, fields);
    }
    void info(std::string_view message, log_fields fields = {}) {
        log(log_level::info, message, fields);
    }
    void warn(std::string_view message, log_fields fields = {}) {
        log(log_level::warn, message, fields);
    }
    void error(std::string_view message, log_fields fields = {}) {
        log(log_level::error, message, fields);
    }

    // Formats one event without writing it (used by tests and by `log`).
    std::string format_line(log_level level, std::string_view message, log_fields fields) const;

  private:
    std::atomic<log_level> min_level_;
    std::atomic<log_format> format_;
    int fd_;
};

}  // namespace mgw::core
