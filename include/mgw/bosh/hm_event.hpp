// BOSH module: one Health Monitor event (heartbeat or alert) as HM's JSON plugin writes it, one
// compact JSON object per line, and the pure decoder of such a line (errors are values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace mgw::bosh {

// One entry of a heartbeat's `metrics` array: HM stringifies the value; it is parsed here.
struct hm_metric {
    std::string name;  // e.g. "system.cpu.user"
    double value = 0;
};

struct hm_heartbeat {
    std::string id;
    std::int64_t timestamp = 0;  // unix seconds
    std::string deployment;
    std::string agent_id;
    std::string job;
    std::string index;  // always a string in HM's output, "" while the agent has none
    std::string instance_id;
    std::string job_state;  // null → ""
    // From `metrics` (HM derives them from `vitals`), or from `vitals` when `metrics` is absent.
    // Entries whose value does not parse as a finite number ("" included) are left out, as the
    // original server does.
    std::vector<hm_metric> metrics;
    std::optional<std::int64_t> number_of_processes;
};

struct hm_alert {
    std::string id;        // a string, or an agent's integer id converted
    int severity = 0;      // 1 alert, 2 critical, 3 error, 4 warning (HM accepts any integer >= 0)
    std::string category;  // null → ""
    std::string title;
    std::string summary;  // defaults to the title
    std::string source;
    std::string deployment;  // null → ""
    std::int64_t created_at = 0;
};

using hm_event = std::variant<hm_heartbeat, hm_alert>;

// Why a line was rejected, as an error_code of the category "mgw.bosh" (docs/DEVELOPING.md,
// "Errors"); to_string gives the `reason` label of mgw_bosh_ingest_rejected_total.
enum class errc {
    not_json = 1,   // not a JSON text
    not_object,     // valid JSON but not an object
    unknown_kind,   // `kind` missing or neither "heartbeat" nor "alert"
    missing_field,  // a required field is absent
    wrong_type,     // a field has a type HM never writes there
    bad_value,      // right type, impossible value (negative severity, index not a number, ...)
};

std::string_view to_string(errc failure);

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace mgw::bosh

template <>
struct boost::system::is_error_code_enum<mgw::bosh::errc> : std::true_type {};

namespace mgw::bosh {

struct decode_error {
    boost::system::error_code code = make_error_code(errc::not_json);
    std::string detail;  // e.g. "severity: expected an integer"

    // The kind as the enum, for the rejection counter's label.
    errc failure() const noexcept { return static_cast<errc>(code.value()); }
};

// Lets result<T, decode_error>::value() throw when misused; the decoder itself never throws.
[[noreturn]] void throw_exception_from_error(const decode_error& error,
                                             const boost::source_location& location);

using decode_result = boost::system::result<hm_event, decode_error>;

// Decodes one line (without its '\n'; a trailing '\r' is tolerated). Never throws on input.
decode_result decode_hm_event(std::string_view line);

// Maps "system.cpu.user" to "system_cpu_user"; empty when the name cannot be a metric name.
std::string gauge_name(std::string_view hm_metric_name);

}  // namespace mgw::bosh
