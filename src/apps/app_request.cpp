// Request parsing for the /v1 and /v2 app metrics endpoints.
#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <mgw/apps/app_request.hpp>

namespace mgw::apps {

namespace {

constexpr std::string_view metrics_suffix = "metrics";
constexpr std::string_view only_app_suffix = "only-app-metrics";
constexpr std::string_view metrics_path_suffix = "/metrics";
constexpr std::string_view only_app_path_suffix = "/only-app-metrics";

std::optional<std::string_view> query_value(
    const std::vector<std::pair<std::string, std::string>>& query, std::string_view key) {
    for (const auto& [name, value] : query) {
        if (name == key) {
            return value;
        }
    }
    return std::nullopt;
}

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::string_view strip_quotes(std::string_view text) {
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
        text.remove_prefix(1);
        text.remove_suffix(1);
    }
    return text;
}

bool has_scheme(std::string_view path) {
    // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
    if (path.empty() || std::isalpha(static_cast<unsigned char>(path.front())) == 0) {
        return false;
    }
    for (const char c : path) {
        if (c == ':') {
            return true;
        }
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
            return false;
        }
    }
    return false;
}

class apps_category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "mgw.apps"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::unknown_path:
                return "the path is not one of the app metrics endpoints";
            case errc::missing_identifier:
                return "the request names no app";
            case errc::invalid_metric_path:
                return "metric_path is not a path on the app instance";
            case errc::invalid_scope:
                return "scope is neither local nor cluster";
        }
        return "unknown apps error";
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const apps_category category;
    return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

void throw_exception_from_error(const app_request_error& error, const boost::source_location&) {
    throw std::invalid_argument(error.body);
}

std::optional<std::string> normalise_metric_path(std::string_view metric_path) {
    metric_path = trim(metric_path);
    if (metric_path.empty()) {
        return std::string("/metrics");
    }
    const bool unsafe_byte = std::any_of(metric_path.begin(), metric_path.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
    });
    if (unsafe_byte || has_scheme(metric_path) || metric_path.starts_with("//") ||
        metric_path.starts_with("\\")) {
        return std::nullopt;
    }
    std::string path;
    path.reserve(metric_path.size() + 1);
    if (metric_path.front() != '/') {
        path.push_back('/');
    }
    path.append(metric_path);
    return path;
}

boost::system::result<app_request, app_request_error> parse_app_request(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& query) {
    const app_request_error not_found{404, "404 page not found\n",
                                      make_error_code(errc::unknown_path)};
    // "/v<N>/apps/<rest>"
    if (!path.starts_with("/v")) {
        return not_found;
    }
    const std::size_t slash = path.find('/', 2);
    if (slash == std::string_view::npos || slash == 2) {
        return not_found;
    }
    const std::string_view version = path.substr(2, slash - 2);
    if (!std::all_of(version.begin(), version.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
        return not_found;
    }
    std::string_view rest = path.substr(slash);
    if (!rest.starts_with("/apps/")) {
        return not_found;
    }
    rest.remove_prefix(6);

    app_request request;
    request.api_version = version == "1" ? 1 : 2;
    std::string_view identifier;
    if (rest == metrics_suffix || rest == only_app_suffix) {
        request.only_app_metrics = rest == only_app_suffix;
        request.identifier_in_query = true;
        identifier = query_value(query, "app").value_or("");
        if (identifier.empty()) {
            identifier = query_value(query, "route_url").value_or("");
        }
    } else if (rest.ends_with(only_app_path_suffix)) {
        request.only_app_metrics = true;
        identifier = rest.substr(0, rest.size() - only_app_path_suffix.size());
    } else if (rest.ends_with(metrics_path_suffix)) {
        identifier = rest.substr(0, rest.size() - metrics_path_suffix.size());
    } else {
        return not_found;
    }
    if (query_value(query, "only_from_app")) {
        request.only_app_metrics = true;
    }
    if (const auto scope = query_value(query, "scope")) {
        if (*scope == "local") {
            request.local_only = true;
        } else if (*scope != "cluster") {
            return app_request_error{400, "400 Bad Request: scope must be local or cluster",
                                     make_error_code(errc::invalid_scope)};
        }
    }

    identifier = strip_quotes(trim(identifier));
    if (identifier.empty()) {
        return app_request_error{400, "400 Bad Request: You must set app id or path",
                                 make_error_code(errc::missing_identifier)};
    }
    request.identifier = std::string(identifier);

    const std::string_view metric_path_query = query_value(query, "metric_path").value_or("");
    const auto metric_path = normalise_metric_path(metric_path_query);
    if (!metric_path) {
        return app_request_error{
            400,
            "400 Bad Request: metric_path must be a path on the app instance, such as "
            "/metrics (no scheme, host or spaces)\n",
            make_error_code(errc::invalid_metric_path)};
    }
    request.metric_path = *metric_path;
    request.metric_path_given = !trim(metric_path_query).empty();
    return request;
}

}  // namespace mgw::apps
