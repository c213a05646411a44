// OSB request decoding with Boost.JSON. Pure: the fuzz target links it without the server.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <mgw/broker/osb_request.hpp>

namespace mgw::broker {

namespace json = boost::json;

namespace {

constexpr std::size_t max_id_bytes = 255;
constexpr std::size_t max_context_value_bytes = 255;  // Cloud Foundry names are at most 255
constexpr std::array<std::string_view, 6> kept_context_fields = {
    "platform",   "organization_guid", "organization_name",
    "space_guid", "space_name",        "instance_name"};

osb_error bad_request(std::string description) {
    return {.status = 400, .error = "BadRequest", .description = std::move(description)};
}

osb_error invalid_parameters(std::string description) {
    return {.status = 422,
            .error = "InvalidParameters",
            .description = std::move(description),
            .code = errc::invalid_parameters};
}

bool is_visible_ascii(char c) {
    return c > 0x20 && c < 0x7f;
}

bool valid_id(std::string_view id) {
    return !id.empty() && id.size() <= max_id_bytes &&
           std::all_of(id.begin(), id.end(), is_visible_ascii);
}

// Objects compare equal whatever their key order: re-PUT detection compares these strings.
json::value canonical(const json::value& v) {
    if (const json::object* object = v.if_object()) {
        std::vector<std::pair<std::string_view, const json::value*>> entries;
        entries.reserve(object->size());
        for (const auto& entry : *object) {
            entries.emplace_back(entry.key(), &entry.value());
        }
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        json::object out;
        out.reserve(entries.size());
        for (const auto& [key, value] : entries) {
            out.emplace(key, canonical(*value));
        }
        return out;
    }
    if (const json::array* array = v.if_array()) {
        json::array out;
        out.reserve(array->size());
        for (const json::value& element : *array) {
            out.push_back(canonical(element));
        }
        return out;
    }
    return v;
}

// Boost.JSON reads 1e999 as infinity but writes it as `Infinity`, which is not JSON: such
// parameters are refused rather than stored in a form nobody can read back.
bool all_finite(const json::value& v) {
    if (const double* number = v.if_double()) {
        return std::isfinite(*number);
    }
    if (const json::object* object = v.if_object()) {
        return std::all_of(object->begin(), object->end(),
                           [](const auto& entry) { return all_finite(entry.value()); });
    }
    if (const json::array* array = v.if_array()) {
        return std::all_of(array->begin(), array->end(), all_finite);
    }
    return true;
}

boost::system::result<json::object, osb_error> parse_object(std::string_view body) {
    json::parse_options options;
    options.max_depth = 32;
    boost::system::error_code ec;
    json::value value = json::parse(json::string_view(body.data(), body.size()), ec, {}, options);
    if (ec) {
        return bad_request("request body is not valid JSON: " + ec.message());
    }
    if (!value.is_object()) {
        return bad_request("request body must be a JSON object");
    }
    return std::move(value.as_object());
}

// A required id field: present, a string, 1 to 255 visible ASCII characters.
std::optional<osb_error> read_id(const json::object& body, std::string_view key, std::string& out) {
    const json::value* value = body.if_contains(key);
    if (value == nullptr || value->is_null()) {
        return bad_request(std::string(key) + " is required");
    }
    const json::string* text = value->if_string();
    if (text == nullptr) {
        return bad_request(std::string(key) + " must be a string");
    }
    if (!valid_id(*text)) {
        return bad_request(std::string(key) + " must be 1 to 255 visible ASCII characters");
    }
    out.assign(text->data(), text->size());
    return std::nullopt;
}

// An optional id field: absent or null leaves `out` untouched.
std::optional<osb_error> read_optional_id(const json::object& body, std::string_view key,
                                          std::string& out) {
    const json::value* value = body.if_contains(key);
    if (value == nullptr || value->is_null()) {
        return std::nullopt;
    }
    return read_id(body, key, out);
}

std::optional<osb_error> read_context(const json::object& body, context_fields& out) {
    const json::value* value = body.if_contains("context");
    if (value == nullptr || value->is_null()) {
        return std::nullopt;
    }
    const json::object* context = value->if_object();
    if (context == nullptr) {
        return bad_request("context must be an object");
    }
    for (std::string_view key : kept_context_fields) {
        const json::value* field = context->if_contains(key);
        if (field == nullptr || !field->is_string()) {
            continue;
        }
        const json::string& text = field->get_string();
        // Cut on a character boundary: the value is stored as JSON and read back at start.
        std::size_t size = std::min(text.size(), max_context_value_bytes);
        while (size < text.size() && size > 0 &&
               (static_cast<unsigned char>(text[size]) & 0xc0) == 0x80) {
            --size;
        }
        out.emplace(std::string(key), std::string(text.data(), size));
    }
    return std::nullopt;
}

std::optional<osb_error> read_parameters(const json::object& body, std::string& out) {
    const json::value* value = body.if_contains("parameters");
    if (value == nullptr || value->is_null()) {
        out = "{}";
        return std::nullopt;
    }
    if (!value->is_object()) {
        return bad_request("parameters must be an object");
    }
    if (!all_finite(*value)) {
        return bad_request("parameters hold a number out of range");
    }
    out = json::serialize(canonical(*value));
    if (out.size() > max_parameters_bytes) {
        return invalid_parameters("parameters are " + std::to_string(out.size()) +
                                  " bytes as JSON; at most " +
                                  std::to_string(max_parameters_bytes) + " are kept");
    }
    return std::nullopt;
}

// Standard base64 (RFC 4648 §4) with padding, as the OSB example and the Cloud Controller send
// it. False on any other character or a bad length.
bool base64_decode(std::string_view text, std::string& out) {
    if (text.empty() || text.size() % 4 != 0) {
        return false;
    }
    const auto value_of = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    out.clear();
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::uint32_t group = 0;
        int padding = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                ++padding;
                group <<= 6;
                continue;
            }
            const int v = value_of(c);
            if (v < 0 || padding > 0) {
                return false;
            }
            group = (group << 6) | static_cast<std::uint32_t>(v);
        }
        out.push_back(static_cast<char>((group >> 16) & 0xff));
        if (padding < 2) {
            out.push_back(static_cast<char>((group >> 8) & 0xff));
        }
        if (padding < 1) {
            out.push_back(static_cast<char>(group & 0xff));
        }
    }
    return true;
}

bool valid_metrics_path(std::string_view path) {
    // Like the app endpoint's metric_path: never something that names another host or could
    // end the request line when the scraper sends it.
    return path.size() <= max_id_bytes && path.starts_with('/') && !path.starts_with("//") &&
           std::all_of(path.begin(), path.end(), is_visible_ascii) &&
           path.find('#') == std::string_view::npos;
}

}  // namespace

namespace {

class broker_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.broker"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::bad_request:
                return "the request is malformed";
            case errc::invalid_parameters:
                return "the service parameters are invalid";
            case errc::requires_app:
                return "the service supports app bindings only";
            case errc::payload_too_large:
                return "the request body is too large";
            case errc::precondition_failed:
                return "the X-Broker-API-Version header is missing or too old";
        }
        return "unknown broker error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const broker_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const osb_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.description);
}

std::string osb_error::json() const {
    json::object body{{"description", description}};
    if (!error.empty()) {
        body["error"] = error;
    }
    return json::serialize(body);
}

std::optional<api_version> parse_api_version(std::string_view header) {
    const std::size_t dot = header.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == header.size()) {
        return std::nullopt;
    }
    api_version version;
    const char* end = header.data() + header.size();
    const auto major = std::from_chars(header.data(), header.data() + dot, version.major);
    const auto minor = std::from_chars(header.data() + dot + 1, end, version.minor);
    if (major.ec != std::errc{} || major.ptr != header.data() + dot || minor.ec != std::errc{} ||
        minor.ptr != end) {
        return std::nullopt;
    }
    return version;
}

std::optional<broker_path> parse_broker_path(std::string_view path) {
    constexpr std::string_view root = "/broker/v2/";
    if (!path.starts_with(root)) {
        return std::nullopt;
    }
    path.remove_prefix(root.size());
    std::vector<std::string_view> segments;
    while (true) {
        const std::size_t slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos || segments.size() > 5) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    if (segments.size() == 1 && segments[0] == "catalog") {
        return broker_path{.what = broker_path::kind::catalog, .instance_id = {}, .binding_id = {}};
    }
    if (segments.size() < 2 || segments.size() > 5 || segments[0] != "service_instances" ||
        !valid_id(segments[1])) {
        return std::nullopt;
    }
    broker_path out{.what = broker_path::kind::instance,
                    .instance_id = std::string(segments[1]),
                    .binding_id = {}};
    if (segments.size() == 2) {
        return out;
    }
    if (segments.size() == 3 && segments[2] == "last_operation") {
        out.what = broker_path::kind::instance_last_operation;
        return out;
    }
    if (segments[2] != "service_bindings" || segments.size() < 4 || !valid_id(segments[3])) {
        return std::nullopt;
    }
    out.binding_id = std::string(segments[3]);
    if (segments.size() == 4) {
        out.what = broker_path::kind::binding;
        return out;
    }
    if (segments[4] == "last_operation") {
        out.what = broker_path::kind::binding_last_operation;
        return out;
    }
    return std::nullopt;
}

boost::system::result<provision_request, osb_error> decode_provision(std::string_view body) {
    auto parsed = parse_object(body);
    if (parsed.has_error()) {
        return std::move(parsed).error();
    }
    const json::object& object = *parsed;
    provision_request out;
    for (auto error :
         {read_id(object, "service_id", out.service_id), read_id(object, "plan_id", out.plan_id),
          read_id(object, "organization_guid", out.organization_guid),
          read_id(object, "space_guid", out.space_guid), read_context(object, out.context),
          read_parameters(object, out.parameters)}) {
        if (error) {
            return std::move(*error);
        }
    }
    return out;
}

boost::system::result<update_request, osb_error> decode_update(std::string_view body) {
    auto parsed = parse_object(body);
    if (parsed.has_error()) {
        return std::move(parsed).error();
    }
    const json::object& object = *parsed;
    update_request out;
    if (auto error = read_id(object, "service_id", out.service_id)) {
        return std::move(*error);
    }
    if (auto error = read_context(object, out.context)) {
        return std::move(*error);
    }
    std::string plan_id;
    if (auto error = read_optional_id(object, "plan_id", plan_id)) {
        return std::move(*error);
    }
    if (!plan_id.empty()) {
        out.plan_id = std::move(plan_id);
    }
    if (const json::value* value = object.if_contains("parameters");
        value != nullptr && !value->is_null()) {
        std::string parameters;
        if (auto error = read_parameters(object, parameters)) {
            return std::move(*error);
        }
        out.parameters = std::move(parameters);
    }
    return out;
}

boost::system::result<bind_request, osb_error> decode_bind(std::string_view body) {
    auto parsed = parse_object(body);
    if (parsed.has_error()) {
        return std::move(parsed).error();
    }
    const json::object& object = *parsed;
    bind_request out;
    for (auto error :
         {read_id(object, "service_id", out.service_id), read_id(object, "plan_id", out.plan_id),
          read_optional_id(object, "app_guid", out.app_guid), read_context(object, out.context),
          read_parameters(object, out.parameters)}) {
        if (error) {
            return std::move(*error);
        }
    }
    if (const json::value* resource = object.if_contains("bind_resource");
        resource != nullptr && !resource->is_null()) {
        if (!resource->is_object()) {
            return bad_request("bind_resource must be an object");
        }
        std::string resource_app;
        if (auto error = read_optional_id(resource->get_object(), "app_guid", resource_app)) {
            error->description = "bind_resource." + error->description;
            return std::move(*error);
        }
        // The binding's app decides whose metrics its key may push: a body naming two apps
        // is not guessed at.
        if (!resource_app.empty() && !out.app_guid.empty() && resource_app != out.app_guid) {
            return bad_request("app_guid and bind_resource.app_guid name different apps");
        }
        if (!resource_app.empty()) {
            out.app_guid = std::move(resource_app);
        }
    }
    if (out.app_guid.empty()) {
        return osb_error{.status = 422,
                         .error = "RequiresApp",
                         .description =
                             "this service supports app bindings only: "
                             "bind_resource.app_guid is required",
                         .code = errc::requires_app};
    }
    return out;
}

boost::system::result<std::string, osb_error> decode_promfetcher_endpoint(
    std::string_view parameters) {
    auto parsed = parse_object(parameters);
    if (parsed.has_error()) {
        return invalid_parameters("parameters: " + parsed.error().description);
    }
    const json::object& object = *parsed;
    for (const auto& entry : object) {
        if (entry.key() != "endpoint") {
            return invalid_parameters("unknown parameter \"" + std::string(entry.key()) +
                                      "\" (promfetcher takes {\"endpoint\": \"/path\"})");
        }
    }
    const json::value* endpoint = object.if_contains("endpoint");
    if (endpoint == nullptr || endpoint->is_null()) {
        return std::string();
    }
    const json::string* text = endpoint->if_string();
    if (text == nullptr) {
        return invalid_parameters("endpoint must be a string");
    }
    const std::string_view path(text->data(), text->size());
    if (path.empty()) {
        return std::string();
    }
    if (!valid_metrics_path(path)) {
        return invalid_parameters(
            "endpoint must be a path starting with / (at most 255 visible ASCII characters, no "
            "//host, no #)");
    }
    return std::string(path);
}

boost::system::result<void, osb_error> check_forwarder_parameters(std::string_view parameters) {
    auto parsed = parse_object(parameters);
    if (parsed.has_error()) {
        return invalid_parameters("parameters: " + parsed.error().description);
    }
    const json::object& object = *parsed;
    if (!object.empty()) {
        return invalid_parameters("unknown parameter \"" + std::string(object.begin()->key()) +
                                  "\" (metrics-forwarder takes no parameters)");
    }
    return {};
}

boost::system::result<std::optional<originating_identity>, osb_error> decode_originating_identity(
    std::optional<std::string_view> header, std::string_view context_platform) {
    constexpr std::size_t max_header_bytes = 4096;
    if (!header) {
        return std::optional<originating_identity>();
    }
    const auto malformed = [](std::string why) {
        return bad_request("X-Broker-API-Originating-Identity " + why +
                           " (expected \"Platform base64(JSON object)\")");
    };
    const std::string_view text = *header;
    if (text.size() > max_header_bytes) {
        return malformed("is longer than 4096 bytes");
    }
    const std::size_t space = text.find(' ');
    if (space == std::string_view::npos || space == 0) {
        return malformed("has no platform");
    }
    originating_identity out;
    const std::string_view platform = text.substr(0, space);
    if (!valid_id(platform)) {
        return malformed("has an invalid platform");
    }
    out.platform = std::string(platform);
    std::string decoded;
    if (!base64_decode(text.substr(space + 1), decoded)) {
        return malformed("value is not base64");
    }
    json::parse_options options;
    options.max_depth = 8;
    boost::system::error_code ec;
    const json::value value =
        json::parse(json::string_view(decoded.data(), decoded.size()), ec, {}, options);
    if (ec || !value.is_object()) {
        return malformed("value is not a JSON object");
    }
    if (const json::value* user = value.get_object().if_contains("user_id");
        user != nullptr && !user->is_null()) {
        const json::string* id = user->if_string();
        if (id == nullptr || !valid_id(*id)) {
            return malformed("user_id is not 1 to 255 visible ASCII characters");
        }
        out.user_id.assign(id->data(), id->size());
    }
    // OSB: "When context is sent as part of a message, this value MUST be the same as the
    // context.platform value."
    if (!context_platform.empty() && context_platform != out.platform) {
        return bad_request("X-Broker-API-Originating-Identity names platform \"" + out.platform +
                           "\" but context.platform is \"" + std::string(context_platform) + "\"");
    }
    return std::optional<originating_identity>(std::move(out));
}

boost::system::result<void, osb_error> check_query_id(std::string_view name,
                                                      std::optional<std::string_view> value,
                                                      bool required, std::string_view expected) {
    if (!value) {
        if (required) {
            return bad_request(std::string(name) + " query parameter required");
        }
        return {};
    }
    if (value->empty()) {
        return bad_request(std::string(name) + " query parameter must not be empty");
    }
    if (!expected.empty() && *value != expected) {
        // The value itself is not echoed: it may be any bytes, and the answer must stay JSON.
        return bad_request(std::string(name) + " does not name this resource's " +
                           std::string(name.substr(0, name.find('_'))));
    }
    return {};
}

}  // namespace mgw::broker
