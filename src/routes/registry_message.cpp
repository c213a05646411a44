// Routes module: strict Boost.JSON decoding of gorouter registry messages.
#include <limits>
#include <stdexcept>

#include <boost/json.hpp>

#include <mgw/routes/registry_message.hpp>

namespace mgw::routes {

namespace json = boost::json;

namespace {

// Each reader leaves `out` untouched for null, like Go, and reports the key on a type mismatch.
bool read_string(const json::value& v, std::string_view field, std::string& out,
                 decode_error& error) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_string()) {
        error = {std::string(field), "expected a string", errc::wrong_type};
        return false;
    }
    out.assign(v.get_string().data(), v.get_string().size());
    return true;
}

bool read_integer(const json::value& v, std::string_view field, std::int64_t min, std::int64_t max,
                  std::int64_t& out, decode_error& error) {
    if (v.is_null()) {
        return true;
    }
    if (v.is_int64()) {
        out = v.get_int64();
    } else if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            error = {std::string(field), "integer out of range", errc::invalid_value};
            return false;
        }
        out = static_cast<std::int64_t>(v.get_uint64());
    } else {
        error = {std::string(field), "expected an integer", errc::wrong_type};
        return false;
    }
    if (out < min || out > max) {
        error = {std::string(field), "integer out of range", errc::invalid_value};
        return false;
    }
    return true;
}

bool read_port(const json::value& v, std::string_view field, std::uint16_t& out,
               decode_error& error) {
    std::int64_t port = 0;
    if (!read_integer(v, field, 0, 65535, port, error)) {
        return false;
    }
    out = static_cast<std::uint16_t>(port);
    return true;
}

bool read_uris(const json::value& v, std::vector<std::string>& out, decode_error& error) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_array()) {
        error = {"uris", "expected an array of strings", errc::wrong_type};
        return false;
    }
    out.reserve(v.get_array().size());
    for (const json::value& uri : v.get_array()) {
        if (!uri.is_string()) {
            error = {"uris", "expected an array of strings", errc::wrong_type};
            return false;
        }
        out.emplace_back(uri.get_string().data(), uri.get_string().size());
    }
    return true;
}

bool read_tags(const json::value& v, std::map<std::string, std::string>& out, decode_error& error) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_object()) {
        error = {"tags", "expected an object of strings", errc::wrong_type};
        return false;
    }
    for (const auto& [key, value] : v.get_object()) {
        if (!value.is_string()) {
            error = {"tags", "value of tag \"" + std::string(key) + "\" is not a string",
                     errc::wrong_type};
            return false;
        }
        out.insert_or_assign(std::string(key),
                             std::string(value.get_string().data(), value.get_string().size()));
    }
    return true;
}

bool read_options(const json::value& v, std::string& load_balancing, decode_error& error) {
    if (v.is_null()) {
        return true;
    }
    if (!v.is_object()) {
        error = {"options", "expected an object", errc::wrong_type};
        return false;
    }
    if (const json::value* lb = v.get_object().if_contains("loadbalancing")) {
        return read_string(*lb, "options.loadbalancing", load_balancing, error);
    }
    return true;
}

bool read_field(std::string_view key, const json::value& v, registry_message& m,
                decode_error& error) {
    constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();
    constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
    if (key == "host") {
        return read_string(v, key, m.host, error);
    }
    if (key == "port") {
        return read_port(v, key, m.port, error);
    }
    if (key == "tls_port") {
        return read_port(v, key, m.tls_port, error);
    }
    if (key == "uris") {
        return read_uris(v, m.uris, error);
    }
    if (key == "app") {
        return read_string(v, key, m.app, error);
    }
    if (key == "private_instance_id") {
        return read_string(v, key, m.private_instance_id, error);
    }
    if (key == "private_instance_index") {
        return read_string(v, key, m.private_instance_index, error);
    }
    if (key == "server_cert_domain_san") {
        return read_string(v, key, m.server_cert_domain_san, error);
    }
    if (key == "route_service_url") {
        return read_string(v, key, m.route_service_url, error);
    }
    if (key == "isolation_segment") {
        return read_string(v, key, m.isolation_segment, error);
    }
    if (key == "protocol") {
        return read_string(v, key, m.protocol, error);
    }
    if (key == "availability_zone") {
        return read_string(v, key, m.availability_zone, error);
    }
    if (key == "endpoint_updated_at_ns") {
        return read_integer(v, key, int64_min, int64_max, m.endpoint_updated_at_ns, error);
    }
    if (key == "stale_threshold_in_seconds") {
        // Go decodes it into an int; a negative value makes no sense for a threshold.
        return read_integer(v, key, 0, int64_max, m.stale_threshold_in_seconds, error);
    }
    if (key == "tags") {
        return read_tags(v, m.tags, error);
    }
    if (key == "options") {
        return read_options(v, m.load_balancing, error);
    }
    return true;
}

}  // namespace

std::string decode_error::message() const {
    return field.empty() ? reason : field + ": " + reason;
}

namespace {

class routes_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.routes"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_json:
                return "the registry message is not valid JSON";
            case errc::wrong_type:
                return "a registry message field has the wrong JSON type";
            case errc::invalid_value:
                return "a registry message field has a value out of range";
        }
        return "unknown routes error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const routes_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const decode_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.message());
}

decode_result decode_registry_message(std::string_view payload) {
    boost::system::error_code ec;
    json::value document = json::parse(payload, ec);
    if (ec) {
        return decode_error{"", "invalid JSON: " + ec.message(), errc::invalid_json};
    }
    if (!document.is_object()) {
        return decode_error{"", "expected a JSON object", errc::wrong_type};
    }
    registry_message message;
    decode_error error;
    for (const auto& [key, value] : document.get_object()) {
        if (!read_field(key, value, message, error)) {
            return error;
        }
    }
    if (!message.route_service_url.empty() && !message.route_service_url.starts_with("https")) {
        return decode_error{"route_service_url", "must be empty or an https URL",
                            errc::invalid_value};
    }
    return message;
}

}  // namespace mgw::routes
