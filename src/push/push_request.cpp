// The Metrics Forwarder body, parsed by Boost.JSON into a DOM held in a stack-backed monotonic
// arena (one body is a few kilobytes to a megabyte), then walked once. Errors carry the indices
// of where they were found; the path text is built only when one happens.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <mgw/push/push_request.hpp>
#include <mgw/text/ascii.hpp>

#include "metric_name.hpp"

namespace mgw::push {

namespace json = boost::json;

std::string_view to_string(pushed_type type) {
    return type == pushed_type::counter ? "counter" : "gauge";
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (byte < 0x20) {
            out += "\\u00";
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0xf]);
        } else {
            out.push_back(c);
        }
    }
}

namespace {

// Where the walk is, so that an error can name the field: -1 marks a level not entered yet.
struct position {
    long application = -1;
    long instance = -1;
    long metric = -1;

    std::string path(std::string_view field) const {
        std::string out;
        if (application >= 0) {
            out += "applications[" + std::to_string(application) + "]";
        }
        if (instance >= 0) {
            out += ".instances[" + std::to_string(instance) + "]";
        }
        if (metric >= 0) {
            out += ".metrics[" + std::to_string(metric) + "]";
        }
        if (!field.empty()) {
            if (!out.empty()) {
                out.push_back('.');
            }
            out += field;
        }
        return out;
    }
};

std::string_view kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

std::string expected(std::string_view what, const json::value& got) {
    std::string out = "must be ";
    out += what;
    out += ", got ";
    out += kind_name(got);
    if (got.is_string()) {
        const json::string& s = got.get_string();
        // At most 32 bytes of it, cut before a UTF-8 continuation byte so that the error (a
        // JSON string itself) stays valid UTF-8.
        std::size_t shown = std::min<std::size_t>(s.size(), 32);
        while (shown < s.size() && shown > 0 &&
               (static_cast<unsigned char>(s[shown]) & 0xc0) == 0x80) {
            --shown;
        }
        out += " \"";
        append_json_escaped(out, std::string_view(s.data(), shown));
        out += shown < s.size() ? "...\"" : "\"";
    }
    return out;
}

// A span of milliseconds for people, in the largest unit it fills, to a tenth below ten:
// "42 s", "5 min", "1.5 h", "41 days", "9.4 years".
std::string describe_span(long double ms) {
    const long double seconds = (ms < 0 ? -ms : ms) / 1000;
    struct unit {
        long double seconds;
        const char* name;
    };
    static constexpr unit units[] = {
        {365.25L * 86400, " years"}, {86400, " days"}, {3600, " h"}, {60, " min"}, {1, " s"}};
    for (const unit& u : units) {
        if (seconds >= u.seconds || u.seconds == 1) {
            const long double amount = seconds / u.seconds;
            if (amount >= 10 || u.seconds == 1) {
                return std::to_string(static_cast<long long>(amount)) + u.name;
            }
            const auto tenths = static_cast<long long>(amount * 10);
            std::string text = std::to_string(tenths / 10);
            if (tenths % 10 != 0) {
                text += '.';
                text += static_cast<char>('0' + tenths % 10);
            }
            return text + u.name;
        }
    }
    return {};
}

// The member named `name` (ASCII case-insensitive), the last one when repeated; null members
// count as absent.
const json::value* member(const json::object& object, std::string_view name) {
    const json::value* found = nullptr;
    for (const auto& entry : object) {
        if (text::iequals(entry.key(), name)) {
            found = entry.value().is_null() ? nullptr : &entry.value();
        }
    }
    return found;
}

// One walk over the DOM. Every step returns false once an error is recorded, so the first bad
// field is the one reported.
class body_walker {
  public:
    explicit body_walker(const decode_limits& limits) : limits_(limits) {}

    bool walk(const json::value& root, push_request& request) {
        const json::object* object = as_object(root, "body");
        if (object == nullptr) {
            return false;
        }
        const json::array* applications =
            as_array(required(*object, "applications"), "applications");
        if (applications == nullptr) {
            return false;
        }
        if (const json::value* version = member(*object, "version");
            version != nullptr && !version->is_number()) {
            return fail(errc::wrong_type, "version", expected("a number", *version));
        }
        request.applications.reserve(applications->size());
        for (std::size_t i = 0; i < applications->size(); ++i) {
            at_.application = static_cast<long>(i);
            if (!application((*applications)[i], request.applications.emplace_back())) {
                return false;
            }
        }
        request.metric_count = metric_count_;
        return true;
    }

    decode_error take_error() { return std::move(error_); }

  private:
    bool fail(errc code, std::string_view field, std::string message) {
        error_ = decode_error{at_.path(field), std::move(message), code};
        return false;
    }

    // Null (and a missing member) when absent, after recording the error.
    const json::value* required(const json::object& object, std::string_view name) {
        const json::value* v = member(object, name);
        if (v == nullptr) {
            fail(errc::missing_field, name, "required");
        }
        return v;
    }

    const json::object* as_object(const json::value* v, std::string_view field) {
        if (v == nullptr) {
            return nullptr;
        }
        if (!v->is_object()) {
            fail(errc::wrong_type, field, expected("an object", *v));
            return nullptr;
        }
        return &v->get_object();
    }
    const json::object* as_object(const json::value& v, std::string_view field) {
        return as_object(&v, field);
    }

    const json::array* as_array(const json::value* v, std::string_view field) {
        if (v == nullptr) {
            return nullptr;
        }
        if (!v->is_array()) {
            fail(errc::wrong_type, field, expected("an array", *v));
            return nullptr;
        }
        return &v->get_array();
    }

    std::optional<std::string_view> as_string(const json::value* v, std::string_view field) {
        if (v == nullptr) {
            return std::nullopt;
        }
        if (!v->is_string()) {
            fail(errc::wrong_type, field, expected("a string", *v));
            return std::nullopt;
        }
        const json::string& s = v->get_string();
        return std::string_view(s.data(), s.size());
    }

    bool application(const json::value& v, pushed_application& out) {
        const json::object* object = as_object(v, "");
        if (object == nullptr) {
            return false;
        }
        const auto id = as_string(required(*object, "id"), "id");
        if (!id) {
            return false;
        }
        if (id->empty()) {
            return fail(errc::invalid_value, "id", "must not be empty");
        }
        out.id = std::string(*id);
        const json::array* instances = as_array(required(*object, "instances"), "instances");
        if (instances == nullptr) {
            return false;
        }
        out.instances.reserve(instances->size());
        for (std::size_t j = 0; j < instances->size(); ++j) {
            at_.instance = static_cast<long>(j);
            if (!instance((*instances)[j], out.instances.emplace_back())) {
                return false;
            }
        }
        at_.instance = -1;
        return true;
    }

    bool instance(const json::value& v, pushed_instance& out) {
        const json::object* object = as_object(v, "");
        if (object == nullptr) {
            return false;
        }
        if (const json::value* id = member(*object, "id")) {
            const auto text = as_string(id, "id");
            if (!text) {
                return false;
            }
            out.id = std::string(*text);
        }
        const json::value* index = required(*object, "index");
        if (index == nullptr || !instance_index(*index, out.index)) {
            return false;
        }
        const json::array* metrics = as_array(required(*object, "metrics"), "metrics");
        if (metrics == nullptr) {
            return false;
        }
        if (metric_count_ + metrics->size() > limits_.max_metrics) {
            return fail(
                errc::limit_exceeded, "metrics",
                "more than " + std::to_string(limits_.max_metrics) + " metrics in one request");
        }
        metric_count_ += metrics->size();
        out.metrics.reserve(metrics->size());
        for (std::size_t k = 0; k < metrics->size(); ++k) {
            at_.metric = static_cast<long>(k);
            if (!metric((*metrics)[k], out.metrics.emplace_back())) {
                return false;
            }
        }
        at_.metric = -1;
        return true;
    }

    // Instance indexes are strings of decimal digits (CF_INSTANCE_INDEX); plain integers too.
    bool instance_index(const json::value& v, std::string& out) {
        if (v.is_int64() && v.get_int64() >= 0) {
            out = std::to_string(v.get_int64());
            return true;
        }
        if (v.is_uint64()) {
            out = std::to_string(v.get_uint64());
            return true;
        }
        std::string_view digits;
        if (v.is_string()) {
            digits = std::string_view(v.get_string().data(), v.get_string().size());
        }
        if (digits.empty() || digits.size() > 10 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            return fail(errc::wrong_type, "index", expected("a string of decimal digits", v));
        }
        while (digits.size() > 1 && digits.front() == '0') {
            digits.remove_prefix(1);
        }
        out = std::string(digits);
        return true;
    }

    bool metric(const json::value& v, pushed_metric& out) {
        const json::object* object = as_object(v, "");
        if (object == nullptr) {
            return false;
        }
        const auto raw_name = as_string(required(*object, "name"), "name");
        if (!raw_name) {
            return false;
        }
        if (raw_name->empty()) {
            return fail(errc::invalid_value, "name", "must not be empty");
        }
        if (raw_name->size() > limits_.max_name_bytes) {
            return fail(errc::limit_exceeded, "name",
                        "longer than " + std::to_string(limits_.max_name_bytes) + " bytes");
        }
        out.name = sanitize_metric_name(*raw_name);
        out.original_name = *raw_name;

        const json::value* type_value = required(*object, "type");
        const auto type = as_string(type_value, "type");
        if (!type) {
            return false;
        }
        if (text::iequals(*type, "gauge")) {
            out.type = pushed_type::gauge;
        } else if (text::iequals(*type, "counter")) {
            out.type = pushed_type::counter;
        } else {
            return fail(errc::invalid_value, "type",
                        expected("\"gauge\" or \"counter\"", *type_value));
        }

        const json::value* value = required(*object, "value");
        if (value == nullptr || !metric_value(*value, out)) {
            return false;
        }
        if (const json::value* unit = member(*object, "unit"); unit != nullptr) {
            const auto text = as_string(unit, "unit");
            if (!text) {
                return false;
            }
            out.unit = *text;
        }
        if (const json::value* timestamp = member(*object, "timestamp"); timestamp != nullptr) {
            if (!metric_timestamp(*timestamp, out) || !timestamp_in_window(*out.timestamp_ms)) {
                return false;
            }
        }
        if (const json::value* tags = member(*object, "tags"); tags != nullptr) {
            if (!metric_tags(*tags, out)) {
                return false;
            }
        }
        return true;
    }

    bool metric_value(const json::value& v, pushed_metric& out) {
        switch (v.kind()) {
            case json::kind::int64:
                out.integer_value = v.get_int64();
                out.value = static_cast<double>(v.get_int64());
                break;
            case json::kind::uint64:
                if (v.get_uint64() <=
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    out.integer_value = static_cast<std::int64_t>(v.get_uint64());
                }
                out.value = static_cast<double>(v.get_uint64());
                break;
            case json::kind::double_:
                out.value = v.get_double();
                if (!std::isfinite(out.value)) {
                    return fail(errc::invalid_value, "value", "must be a finite number");
                }
                break;
            default:
                return fail(errc::wrong_type, "value", expected("a number", v));
        }
        if (out.type == pushed_type::counter && out.value < 0) {
            return fail(errc::invalid_value, "value", "a counter must not be negative");
        }
        if (out.type == pushed_type::gauge) {
            out.integer_value.reset();  // gauges are float64, whatever the JSON looked like
        }
        return true;
    }

    bool metric_timestamp(const json::value& v, pushed_metric& out) {
        if (v.is_int64()) {
            out.timestamp_ms = v.get_int64();
            return true;
        }
        if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(
                                                   std::numeric_limits<std::int64_t>::max())) {
            out.timestamp_ms = static_cast<std::int64_t>(v.get_uint64());
            return true;
        }
        if (v.is_double()) {
            const double d = v.get_double();
            // 2^53: beyond, a double no longer holds every integer; no clock is there yet.
            if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
                out.timestamp_ms = static_cast<std::int64_t>(d);
                return true;
            }
        }
        return fail(errc::wrong_type, "timestamp", expected("an integer (epoch milliseconds)", v));
    }

    bool timestamp_in_window(std::int64_t timestamp) {
        if (!limits_.timestamps) {
            return true;
        }
        const timestamp_window& window = *limits_.timestamps;
        // In long double: a hostile timestamp near INT64_MIN must not overflow the difference.
        const long double offset = static_cast<long double>(timestamp) - window.now_ms;
        if (offset <= static_cast<long double>(window.after.count()) &&
            -offset <= static_cast<long double>(window.before.count())) {
            return true;
        }
        return fail(
            errc::timestamp_out_of_range, "timestamp",
            std::to_string(timestamp) + " is " + describe_span(offset) +
                (offset > 0 ? " after" : " before") +
                " the gateway's clock; a timestamp (epoch milliseconds) "
                "must lie between " +
                describe_span(static_cast<long double>(window.before.count())) + " before and " +
                describe_span(static_cast<long double>(window.after.count())) + " after it");
    }

    bool metric_tags(const json::value& v, pushed_metric& out) {
        const json::object* tags = as_object(v, "tags");
        if (tags == nullptr) {
            return false;
        }
        if (tags->size() > limits_.max_tags) {
            return fail(errc::limit_exceeded, "tags",
                        "more than " + std::to_string(limits_.max_tags) + " tags");
        }
        out.tags.reserve(tags->size());
        for (const auto& entry : *tags) {
            std::string field = "tags.";
            field.append(entry.key().data(), entry.key().size());
            if (entry.key().empty()) {
                return fail(errc::invalid_value, "tags", "a tag name must not be empty");
            }
            if (!entry.value().is_string()) {
                return fail(errc::wrong_type, field, expected("a string", entry.value()));
            }
            const json::string& value = entry.value().get_string();
            if (value.size() > limits_.max_tag_value_bytes) {
                return fail(
                    errc::limit_exceeded, field,
                    "longer than " + std::to_string(limits_.max_tag_value_bytes) + " bytes");
            }
            out.tags.emplace_back(sanitize_label_name(entry.key()),
                                  std::string(value.data(), value.size()));
        }
        std::sort(out.tags.begin(), out.tags.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        const auto duplicate =
            std::adjacent_find(out.tags.begin(), out.tags.end(),
                               [](const auto& a, const auto& b) { return a.first == b.first; });
        if (duplicate != out.tags.end()) {
            return fail(errc::invalid_value, "tags",
                        "two tags are both named \"" + duplicate->first + "\" once sanitised");
        }
        return true;
    }

    const decode_limits& limits_;
    position at_;
    std::size_t metric_count_ = 0;
    decode_error error_;
};

std::string parse_error_message(const boost::system::error_code& ec, std::size_t offset,
                                const decode_limits& limits) {
    if (ec == json::error::too_deep) {
        return "nested deeper than " + std::to_string(limits.max_depth) + " levels";
    }
    return "invalid JSON at byte " + std::to_string(offset) + ": " + ec.message();
}

}  // namespace

std::string decode_error::to_json() const {
    std::string out = "{\"error\":\"";
    append_json_escaped(out, field);
    out += ": ";
    append_json_escaped(out, message);
    out += "\",\"field\":\"";
    append_json_escaped(out, field);
    out += "\"}";
    return out;
}

namespace {

class push_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.push"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_json:
                return "the body is not valid JSON";
            case errc::missing_field:
                return "a required field is missing";
            case errc::wrong_type:
                return "a field has the wrong JSON type";
            case errc::invalid_value:
                return "a field has a value the push API refuses";
            case errc::limit_exceeded:
                return "the body exceeds a size limit";
            case errc::timestamp_out_of_range:
                return "a timestamp lies outside the accepted window";
        }
        return "unknown push error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const push_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const decode_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.field + ": " + error.message);
}

decode_result decode_push_request(std::string_view body, const decode_limits& limits) {
    // Small bodies never touch the heap for the DOM; larger ones grow the arena geometrically.
    unsigned char arena[16384];
    json::monotonic_resource resource(arena, sizeof arena);
    json::parse_options options;
    options.max_depth = limits.max_depth;
    json::stream_parser parser(json::storage_ptr(), options);
    parser.reset(&resource);

    boost::system::error_code ec;
    const std::size_t consumed = parser.write_some(body.data(), body.size(), ec);
    if (!ec && consumed < body.size()) {
        ec = json::error::extra_data;
    }
    if (!ec) {
        parser.finish(ec);
    }
    if (ec) {
        return decode_error{"body", parse_error_message(ec, consumed, limits),
                            make_error_code(errc::invalid_json)};
    }
    const json::value root = parser.release();

    push_request request;
    body_walker walker(limits);
    if (!walker.walk(root, request)) {
        return walker.take_error();
    }
    return request;
}

}  // namespace mgw::push
