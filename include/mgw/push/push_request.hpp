// Push module: the Metrics Forwarder request body (`applications[].instances[].metrics[]`)
// decoded and validated in one pass, names sanitised, or the first bad field named. Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::push {

enum class pushed_type { gauge, counter };

std::string_view to_string(pushed_type type);

// Appends `text` as the inside of a JSON string (quotes, backslashes and control bytes
// escaped): the push API's error bodies are written by hand, not through a JSON tree.
void append_json_escaped(std::string& out, std::string_view text);

struct pushed_metric {
    std::string name;           // sanitised (dots to underscores)
    std::string original_name;  // as sent: what the Metrics Forwarder emitted to Loggregator
    std::string unit;           // as sent, "" when absent (not served to Prometheus)
    pushed_type type = pushed_type::gauge;
    // Gauges are float64; counters as sent, exact when they were JSON integers.
    double value = 0;
    std::optional<std::int64_t> integer_value;
    std::optional<std::int64_t> timestamp_ms;  // absent: the receiver's clock
    // Tags with sanitised names, sorted by name, values as sent (unescaped).
    std::vector<std::pair<std::string, std::string>> tags;
};

struct pushed_instance {
    std::string id;     // the instance GUID; may be empty (clients without CF_INSTANCE_GUID)
    std::string index;  // decimal digits, leading zeros removed
    std::vector<pushed_metric> metrics;
};

struct pushed_application {
    std::string id;  // app GUID
    std::vector<pushed_instance> instances;
};

struct push_request {
    std::vector<pushed_application> applications;
    std::size_t metric_count = 0;
};

// The span around the receiver's clock a metric's timestamp must lie in. A timestamp far in
// the future is a wrong clock (or a hostile client), and served as the current value, one far
// in the past is stale: both are refused naming the field. The clients send the time they
// read their meters, seconds before they post (the Java buildpack's metric writer and Steeltoe
// export once a minute and do not queue failed posts), so the window only has to absorb clock
// skew between app containers and the gateway and the odd slow post.
struct timestamp_window {
    std::int64_t now_ms = 0;  // the receiver's clock, epoch milliseconds
    std::chrono::milliseconds before{std::chrono::hours(1)};
    std::chrono::milliseconds after{std::chrono::minutes(5)};
};

struct decode_limits {
    std::size_t max_metrics = 5000;  // per body, all applications and instances together
    std::size_t max_depth = 16;      // JSON nesting; the body itself needs 8
    std::size_t max_tags = 64;       // per metric
    std::size_t max_name_bytes = 256;
    std::size_t max_tag_value_bytes = 1024;
    // nullopt: any timestamp is accepted (decoding alone, as the fuzzer and fixtures do).
    std::optional<timestamp_window> timestamps;
};

// Why a body was refused, as an error_code of the category "mgw.push" (docs/DEVELOPING.md,
// "Errors"): the kind of fault, for code that branches; the field and message below are what a
// client reads.
enum class errc {
    invalid_json = 1,        // not JSON, or nested deeper than the limit
    missing_field,           // a required member is absent
    wrong_type,              // a member of the wrong JSON type
    invalid_value,           // the right type, a value the API refuses
    limit_exceeded,          // more metrics or tags, or longer names or values, than allowed
    timestamp_out_of_range,  // outside the window around the receiver's clock
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

// `field` is a path into the body, e.g. `applications[0].instances[1].metrics[3].value`
// (`body` when the JSON itself is bad).
struct decode_error {
    std::string field;
    std::string message;
    boost::system::error_code code = make_error_code(errc::invalid_value);

    // `{"error":"<field>: <message>","field":"<field>"}`: what a 422 answers.
    std::string to_json() const;
};

// Lets result<T, decode_error>::value() throw when misused; the decoder itself never throws.
[[noreturn]] void throw_exception_from_error(const decode_error& error,
                                             const boost::source_location& location);

using decode_result = boost::system::result<push_request, decode_error>;

// Field names match case-insensitively (`Tags` is seen in the wild); unknown fields are
// ignored, `null` counts as absent for optional fields. NaN and Infinity (literals or strings)
// are not numbers. Duplicate tag names after sanitising (`a.b` and `a_b`) are an error.
decode_result decode_push_request(std::string_view body, const decode_limits& limits = {});

}  // namespace mgw::push

template <>
struct boost::system::is_error_code_enum<mgw::push::errc> : std::true_type {};
