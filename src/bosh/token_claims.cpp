// Shapes other than the documented ones grant nothing: a claim that is not what UAA writes is
// a refusal, never a pass.
#include "token_claims.hpp"

#include <cmath>

namespace mgw::bosh::claims {

namespace json = boost::json;

std::string string_field(const json::object& o, std::string_view key) {
    const auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
        return {};
    }
    return std::string(it->value().get_string());
}

std::optional<std::int64_t> numeric_date(const json::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) {
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

bool grants(const json::object& o, std::string_view key, std::string_view wanted) {
    if (wanted.empty()) {
        return false;
    }
    const auto it = o.find(key);
    if (it == o.end()) {
        return false;
    }
    if (it->value().is_array()) {
        for (const auto& v : it->value().get_array()) {
            if (v.is_string() && v.get_string() == wanted) {
                return true;
            }
        }
        return false;
    }
    if (it->value().is_string()) {
        std::string_view s = it->value().get_string();
        while (!s.empty()) {
            const std::size_t space = s.find(' ');
            if (s.substr(0, space) == wanted) {
                return true;
            }
            if (space == std::string_view::npos) {
                break;
            }
            s.remove_prefix(space + 1);
        }
    }
    return false;
}

}  // namespace mgw::bosh::claims
