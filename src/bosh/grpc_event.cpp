// HM JSON → definitions.Event with the original server's semantics: Go's encoding/json into a
// flat struct (keys matched case-insensitively, unknown keys ignored, null leaves the zero
// value, any type mismatch fails the whole line), then unmarshal.Event's mapping.
#include "grpc_event.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mgw_proto_bosh/events.pb.h>

#include <boost/json.hpp>

#include <mgw/grpc/message_framing.hpp>

namespace mgw::bosh {

namespace json = boost::json;

namespace {

// What Go's json.Unmarshal would have filled in (src/pkg/unmarshal's `event` struct).
struct go_metric {
    std::string name;
    std::string value;
    std::int64_t timestamp = 0;
    std::vector<std::pair<std::string, std::string>> tags;
};

struct go_event {
    std::string kind, id, deployment;
    std::int64_t timestamp = 0;
    std::int64_t created_at = 0;
    std::int32_t severity = 0;
    std::string category, title, summary, source;
    std::string agent_id, job, index, instance_id, job_state;
    std::vector<go_metric> metrics;
};

std::string lower(std::string_view key) {
    std::string out(key);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// A Go string field: a JSON string, or null (zero value). Anything else fails the line.
bool read_string(const json::value& v, std::string& out) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_string()) {
        return false;
    }
    out.assign(v.get_string().data(), v.get_string().size());
    return true;
}

// A Go integer field: an integer literal in range (Go refuses 1.0 and 1e9), or null.
template <typename Int>
bool read_int(const json::value& v, Int& out) {
    if (v.is_null()) {
        return true;
    }
    if (v.is_int64()) {
        const std::int64_t n = v.get_int64();
        if (n < std::numeric_limits<Int>::min() || n > std::numeric_limits<Int>::max()) {
            return false;
        }
        out = static_cast<Int>(n);
        return true;
    }
    if (v.is_uint64()) {
        const std::uint64_t n = v.get_uint64();
        if (n > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
            return false;
        }
        out = static_cast<Int>(n);
        return true;
    }
    return false;
}

bool read_metric(const json::value& v, go_metric& out) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_object()) {
        return false;
    }
    for (const auto& [key, value] : v.get_object()) {
        const std::string k = lower(key);
        bool ok = true;
        if (k == "name") {
            ok = read_string(value, out.name);
        } else if (k == "value") {
            ok = read_string(value, out.value);
        } else if (k == "timestamp") {
            ok = read_int(value, out.timestamp);
        } else if (k == "tags") {
            if (value.is_object()) {
                out.tags.clear();
                for (const auto& [tag, tag_value] : value.get_object()) {
                    std::string text;
                    if (!read_string(tag_value, text)) {
                        return false;
                    }
                    out.tags.emplace_back(std::string(tag.data(), tag.size()), std::move(text));
                }
            } else if (!value.is_null()) {
                ok = false;
            }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool read_event(const json::object& o, go_event& e) {
    for (const auto& [key, value] : o) {
        const std::string k = lower(key);
        bool ok = true;
        if (k == "kind") {
            ok = read_string(value, e.kind);
        } else if (k == "id") {
            ok = read_string(value, e.id);
        } else if (k == "deployment") {
            ok = read_string(value, e.deployment);
        } else if (k == "timestamp") {
            ok = read_int(value, e.timestamp);
        } else if (k == "created_at") {
            ok = read_int(value, e.created_at);
        } else if (k == "severity") {
            ok = read_int(value, e.severity);
        } else if (k == "category") {
            ok = read_string(value, e.category);
        } else if (k == "title") {
            ok = read_string(value, e.title);
        } else if (k == "summary") {
            ok = read_string(value, e.summary);
        } else if (k == "source") {
            ok = read_string(value, e.source);
        } else if (k == "agent_id") {
            ok = read_string(value, e.agent_id);
        } else if (k == "job") {
            ok = read_string(value, e.job);
        } else if (k == "index") {
            ok = read_string(value, e.index);
        } else if (k == "instance_id") {
            ok = read_string(value, e.instance_id);
        } else if (k == "job_state") {
            ok = read_string(value, e.job_state);
        } else if (k == "metrics") {
            if (value.is_array()) {
                e.metrics.clear();
                for (const json::value& m : value.get_array()) {
                    e.metrics.emplace_back();
                    if (!read_metric(m, e.metrics.back())) {
                        return false;
                    }
                }
            } else if (value.is_null()) {
                e.metrics.clear();
            } else {
                ok = false;
            }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

// strconv.Atoi, then the int32 range the original checks: "" is 0, anything else must be an
// optionally signed decimal.
std::optional<std::int32_t> parse_index(std::string_view text) {
    if (text.empty()) {
        return 0;
    }
    std::string_view digits = text;
    bool negative = false;
    if (digits.front() == '+' || digits.front() == '-') {
        negative = digits.front() == '-';
        digits.remove_prefix(1);
    }
    if (digits.empty()) {
        return std::nullopt;
    }
    std::int64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + (c - '0');
        if (n > std::int64_t{1} << 32) {
            return std::nullopt;
        }
    }
    if (negative) {
        n = -n;
    }
    if (n < std::numeric_limits<std::int32_t>::min() ||
        n > std::numeric_limits<std::int32_t>::max()) {
        return std::nullopt;
    }
    return static_cast<std::int32_t>(n);
}

// strconv.ParseFloat(s, 64): decimal or hex notation, inf/infinity/nan in any case, an
// optional sign; no spaces. Overflow is an error, underflow rounds to zero.
std::optional<double> parse_go_float(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::string_view body = text;
    bool negative = false;
    if (body.front() == '+' || body.front() == '-') {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (body.empty() || body.front() == '+' || body.front() == '-') {
        return std::nullopt;
    }
    const std::string lowered = lower(body);
    if (lowered == "inf" || lowered == "infinity") {
        return negative ? -HUGE_VAL : HUGE_VAL;
    }
    if (lowered == "nan") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    auto format = std::chars_format::general;
    if (lowered.size() > 2 && lowered[0] == '0' && lowered[1] == 'x') {
        // Go's hex floats need a p exponent.
        if (lowered.find('p') == std::string::npos) {
            return std::nullopt;
        }
        body.remove_prefix(2);
        format = std::chars_format::hex;
    } else if (lowered.find_first_of("in") != std::string::npos) {
        return std::nullopt;  // "infx", "nan1": from_chars would stop early anyway
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value, format);
    if (end != body.data() + body.size()) {
        return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range) {
        // Over- or underflow: strtod tells them apart (HUGE_VAL on overflow).
        const std::string copy(text);
        errno = 0;
        const double v = std::strtod(copy.c_str(), nullptr);
        if (std::isinf(v)) {
            return std::nullopt;
        }
        return v;
    }
    if (ec != std::errc{}) {
        return std::nullopt;
    }
    return negative ? -value : value;
}

// time.Unix(s, 0).UnixNano(): wraps where Go's result is undefined, never UB here.
std::int64_t nanoseconds(std::int64_t seconds) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(seconds) * 1'000'000'000ULL);
}

}  // namespace

std::optional<std::string> encode_grpc_event(std::string_view json_line) {
    boost::system::error_code ec;
    const json::value parsed = json::parse(json_line, ec);
    if (ec || !parsed.is_object()) {
        return std::nullopt;
    }
    go_event e;
    if (!read_event(parsed.get_object(), e)) {
        return std::nullopt;
    }
    definitions::Event event;
    event.set_id(e.id);
    event.set_deployment(e.deployment);
    if (e.kind == "heartbeat") {
        const auto index = parse_index(e.index);
        if (!index) {
            return std::nullopt;
        }
        event.set_timestamp(nanoseconds(e.timestamp));
        auto* hb = event.mutable_heartbeat();
        hb->set_agent_id(e.agent_id);
        hb->set_job(e.job);
        hb->set_index(*index);
        hb->set_instance_id(e.instance_id);
        hb->set_job_state(e.job_state);
        for (const go_metric& m : e.metrics) {
            const auto value = parse_go_float(m.value);
            if (!value) {
                continue;
            }
            auto* metric = hb->add_metrics();
            metric->set_name(m.name);
            metric->set_value(*value);
            metric->set_timestamp(nanoseconds(m.timestamp));
            auto& tags = *metric->mutable_tags();
            for (const auto& [k, v] : m.tags) {
                tags[k] = v;  // a repeated key: the last wins, as in Go's map
            }
        }
    } else if (e.kind == "alert") {
        event.set_timestamp(nanoseconds(e.created_at));
        auto* alert = event.mutable_alert();
        alert->set_severity(e.severity);
        alert->set_category(e.category);
        alert->set_title(e.title);
        alert->set_summary(e.summary);
        alert->set_source(e.source);
    } else {
        return std::nullopt;
    }
    std::string out;
    if (!event.SerializeToString(&out)) {
        return std::nullopt;
    }
    return out;
}

std::string encode_grpc_event_message(std::string_view json_line) {
    const auto payload = encode_grpc_event(json_line);
    return payload ? grpc::frame_message(*payload) : std::string();
}

}  // namespace mgw::bosh
