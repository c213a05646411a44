// Decoder of HM JSON plugin lines. Types are checked the way HM writes them, with the quirks of
// the study accepted: `index` as a string ("" included) or a number, metric values as strings
// or numbers, `category` and `deployment` null, alert ids as strings or integers.
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <mgw/bosh/hm_event.hpp>

namespace mgw::bosh {

namespace json = boost::json;

std::string_view to_string(errc failure) {
    switch (failure) {
        case errc::not_json:
            return "not_json";
        case errc::not_object:
            return "not_object";
        case errc::unknown_kind:
            return "unknown_kind";
        case errc::missing_field:
            return "missing_field";
        case errc::wrong_type:
            return "wrong_type";
        case errc::bad_value:
            return "bad_value";
    }
    return "unknown";
}

namespace {

class bosh_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.bosh"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::not_json:
                return "the line is not JSON";
            case errc::not_object:
                return "the line is not a JSON object";
            case errc::unknown_kind:
                return "the event kind is neither heartbeat nor alert";
            case errc::missing_field:
                return "a required field is missing";
            case errc::wrong_type:
                return "a field has a type the Health Monitor never writes there";
            case errc::bad_value:
                return "a field has an impossible value";
        }
        return "unknown bosh error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const bosh_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const decode_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.detail);
}

std::string gauge_name(std::string_view hm_metric_name) {
    std::string name;
    name.reserve(hm_metric_name.size());
    for (const char c : hm_metric_name) {
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (letter || (digit && !name.empty())) {
            name += c;
        } else if (c == '.' || c == '-') {
            name += '_';
        } else {
            return {};
        }
    }
    if (name.empty() || name.front() == '_') {
        return {};
    }
    return name;
}

namespace {

// Every reader returns false after setting `error` when the field is unusable; the first
// failure ends the decode. No exceptions: lines come from an unauthenticated port.
bool fail(decode_error& error, errc failure, std::string_view field, std::string_view what) {
    error.code = failure;
    error.detail.assign(field);
    error.detail += ": ";
    error.detail += what;
    return false;
}

const json::value* find(const json::object& o, std::string_view key) {
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

bool read_required_string(const json::object& o, std::string_view key, std::string& out,
                          decode_error& error) {
    const json::value* v = find(o, key);
    if (v == nullptr) {
        return fail(error, errc::missing_field, key, "required");
    }
    if (!v->is_string()) {
        return fail(error, errc::wrong_type, key, "expected a string");
    }
    out.assign(v->get_string());
    return true;
}

// Absent or null → "".
bool read_optional_string(const json::object& o, std::string_view key, std::string& out,
                          decode_error& error) {
    const json::value* v = find(o, key);
    if (v == nullptr || v->is_null()) {
        out.clear();
        return true;
    }
    if (!v->is_string()) {
        return fail(error, errc::wrong_type, key, "expected a string or null");
    }
    out.assign(v->get_string());
    return true;
}

// JSON integers, and doubles with no fractional part (some encoders write 1.5e9).
std::optional<std::int64_t> as_integer(const json::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(v.get_uint64());
    }
    if (v.is_double()) {
        const double d = v.get_double();
        if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e18) {
            return static_cast<std::int64_t>(d);
        }
    }
    return std::nullopt;
}

bool read_required_integer(const json::object& o, std::string_view key, std::int64_t& out,
                           decode_error& error) {
    const json::value* v = find(o, key);
    if (v == nullptr) {
        return fail(error, errc::missing_field, key, "required");
    }
    if (!v->is_number()) {
        return fail(error, errc::wrong_type, key, "expected a number");
    }
    const auto n = as_integer(*v);
    if (!n) {
        return fail(error, errc::bad_value, key, "expected an integer");
    }
    out = *n;
    return true;
}

std::string integer_text(const json::value& v) {
    if (v.is_int64()) {
        return std::to_string(v.get_int64());
    }
    return std::to_string(v.get_uint64());
}

// HM writes metric values with Ruby's to_s; agents send strings. Both are accepted.
std::optional<double> number_of(const json::value& v) {
    if (v.is_string()) {
        const json::string_view s = v.get_string();
        double d = 0;
        const char* end = s.data() + s.size();
        const auto [ptr, ec] = std::from_chars(s.data(), end, d);
        if (s.empty() || ec != std::errc{} || ptr != end || !std::isfinite(d)) {
            return std::nullopt;
        }
        return d;
    }
    if (v.is_number()) {
        const double d = v.to_number<double>();
        return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
    }
    return std::nullopt;
}

bool decode_metrics(const json::array& metrics, std::vector<hm_metric>& out, decode_error& error) {
    out.reserve(metrics.size());
    for (const json::value& entry : metrics) {
        if (!entry.is_object()) {
            return fail(error, errc::wrong_type, "metrics[]", "expected an object");
        }
        const json::object& m = entry.get_object();
        const json::value* name = find(m, "name");
        if (name == nullptr || !name->is_string()) {
            return fail(error, errc::wrong_type, "metrics[].name", "expected a string");
        }
        const json::value* value = find(m, "value");
        if (value == nullptr) {
            continue;
        }
        if (!value->is_string() && !value->is_number() && !value->is_null()) {
            return fail(error, errc::wrong_type, "metrics[].value", "expected a string");
        }
        if (const auto number = number_of(*value)) {
            out.push_back({std::string(name->get_string()), *number});
        }
    }
    return true;
}

// Walks vitals.<path...>, tolerating absent keys and wrong shapes (HM passes vitals through
// verbatim, so an odd agent must not cost the whole heartbeat).
const json::value* vital(const json::value* vitals, std::initializer_list<std::string_view> path) {
    const json::value* at = vitals;
    for (const std::string_view key : path) {
        if (at == nullptr || !at->is_object()) {
            return nullptr;
        }
        at = find(at->get_object(), key);
    }
    return at;
}

// HM's own derivation (metric.rb / heartbeat.rb), for lines that carry vitals but no metrics.
void metrics_from_vitals(const json::value* vitals, const std::string& job_state,
                         std::vector<hm_metric>& out) {
    auto add = [&out](std::string_view name, const json::value* v) {
        if (v != nullptr) {
            if (const auto number = number_of(*v)) {
                out.push_back({std::string(name), *number});
            }
        }
    };
    if (const json::value* load = vital(vitals, {"load"});
        load && load->is_array() && !load->get_array().empty()) {
        add("system.load.1m", &load->get_array()[0]);
    }
    add("system.cpu.user", vital(vitals, {"cpu", "user"}));
    add("system.cpu.sys", vital(vitals, {"cpu", "sys"}));
    add("system.cpu.wait", vital(vitals, {"cpu", "wait"}));
    add("system.mem.percent", vital(vitals, {"mem", "percent"}));
    add("system.mem.kb", vital(vitals, {"mem", "kb"}));
    add("system.swap.percent", vital(vitals, {"swap", "percent"}));
    add("system.swap.kb", vital(vitals, {"swap", "kb"}));
    for (const std::string_view disk : {"system", "ephemeral", "persistent"}) {
        for (const std::string_view field : {"percent", "inode_percent"}) {
            std::string name = "system.disk.";
            name += disk;
            name += '.';
            name += field;
            add(name, vital(vitals, {"disk", disk, field}));
        }
    }
    out.push_back({"system.healthy", job_state == "running" ? 1.0 : 0.0});
}

bool decode_heartbeat(const json::object& o, hm_heartbeat& hb, decode_error& error) {
    if (!read_required_string(o, "id", hb.id, error) ||
        !read_required_integer(o, "timestamp", hb.timestamp, error) ||
        !read_required_string(o, "deployment", hb.deployment, error) ||
        !read_optional_string(o, "agent_id", hb.agent_id, error) ||
        !read_optional_string(o, "job", hb.job, error)) {
        return false;
    }
    if (const json::value* index = find(o, "index"); index != nullptr && !index->is_null()) {
        if (index->is_string()) {
            hb.index = std::string(index->get_string());
        } else if (index->is_int64() || index->is_uint64()) {
            hb.index = integer_text(*index);  // what HM's to_s would have made of it
        } else {
            return fail(error, errc::wrong_type, "index", "expected a string");
        }
    }
    if (!read_optional_string(o, "instance_id", hb.instance_id, error) ||
        !read_optional_string(o, "job_state", hb.job_state, error)) {
        return false;
    }
    const json::value* vitals = find(o, "vitals");
    if (vitals != nullptr && !vitals->is_null() && !vitals->is_object()) {
        return fail(error, errc::wrong_type, "vitals", "expected an object");
    }
    if (const json::value* metrics = find(o, "metrics");
        metrics != nullptr && !metrics->is_null()) {
        if (!metrics->is_array()) {
            return fail(error, errc::wrong_type, "metrics", "expected an array");
        }
        if (!decode_metrics(metrics->get_array(), hb.metrics, error)) {
            return false;
        }
    } else {
        metrics_from_vitals(vitals, hb.job_state, hb.metrics);
    }
    if (const json::value* n = find(o, "number_of_processes"); n != nullptr && !n->is_null()) {
        const auto count = n->is_number() ? as_integer(*n) : std::nullopt;
        if (!count) {
            return fail(error, errc::wrong_type, "number_of_processes", "expected an integer");
        }
        hb.number_of_processes = *count;
    }
    return true;
}

bool decode_alert(const json::object& o, hm_alert& alert, decode_error& error) {
    const json::value* id = find(o, "id");
    if (id == nullptr) {
        return fail(error, errc::missing_field, "id", "required");
    }
    if (id->is_string()) {
        alert.id = std::string(id->get_string());
    } else if (id->is_int64() || id->is_uint64()) {
        alert.id = integer_text(*id);
    } else {
        return fail(error, errc::wrong_type, "id", "expected a string or an integer");
    }
    std::int64_t severity = 0;
    if (!read_required_integer(o, "severity", severity, error)) {
        return false;
    }
    if (severity < 0 || severity > 1000) {
        return fail(error, errc::bad_value, "severity", "expected an integer from 0 to 1000");
    }
    alert.severity = static_cast<int>(severity);
    if (!read_optional_string(o, "category", alert.category, error) ||
        !read_required_string(o, "title", alert.title, error) ||
        !read_optional_string(o, "summary", alert.summary, error) ||
        !read_optional_string(o, "source", alert.source, error) ||
        !read_optional_string(o, "deployment", alert.deployment, error) ||
        !read_required_integer(o, "created_at", alert.created_at, error)) {
        return false;
    }
    if (alert.summary.empty()) {
        alert.summary = alert.title;
    }
    return true;
}

}  // namespace

decode_result decode_hm_event(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    // Most lines are under 4 KiB: parse into a stack buffer first.
    unsigned char buffer[4096];
    json::monotonic_resource resource(buffer, sizeof buffer);
    boost::system::error_code ec;
    const json::value root =
        json::parse(json::string_view(line.data(), line.size()), ec, &resource);
    if (ec) {
        return decode_error{errc::not_json, ec.message()};
    }
    if (!root.is_object()) {
        return decode_error{errc::not_object, "expected a JSON object"};
    }
    const json::object& o = root.get_object();
    decode_error error;
    const json::value* kind = find(o, "kind");
    if (kind != nullptr && kind->is_string() && kind->get_string() == "heartbeat") {
        hm_heartbeat hb;
        if (!decode_heartbeat(o, hb, error)) {
            return error;
        }
        return hm_event(std::move(hb));
    }
    if (kind != nullptr && kind->is_string() && kind->get_string() == "alert") {
        hm_alert alert;
        if (!decode_alert(o, alert, error)) {
            return error;
        }
        return hm_event(std::move(alert));
    }
    return decode_error{errc::unknown_kind, "kind: expected \"heartbeat\" or \"alert\""};
}

}  // namespace mgw::bosh
