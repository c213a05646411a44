// Route lookup. The tables are small (tens of routes), so a linear scan over contiguous
// vectors beats any tree and keeps the precedence rules obvious.
#include <algorithm>

#include <mgw/http/router.hpp>

namespace mgw::http {
namespace {

void append_allowed(std::string& allow, verb method) {
    auto name = boost::beast::http::to_string(method);
    std::string_view text(name.data(), name.size());
    // The list stays in registration order without duplicates.
    std::string_view rest = allow;
    while (!rest.empty()) {
        auto comma = rest.find(", ");
        if (rest.substr(0, comma) == text) {
            return;
        }
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
    if (!allow.empty()) {
        allow += ", ";
    }
    allow += text;
}

route make_route(verb method, std::string pattern, bool prefix, handler h, route_options options) {
    if (options.name.empty()) {
        options.name = prefix ? pattern + "*" : pattern;
    }
    return route{method, std::move(pattern), prefix, std::move(h), std::move(options)};
}

}  // namespace

router& router::add(verb method, std::string path, handler h, route_options options) {
    exact_.push_back(make_route(method, std::move(path), false, std::move(h), std::move(options)));
    return *this;
}

router& router::add_prefix(verb method, std::string prefix, handler h, route_options options) {
    prefixes_.push_back(
        make_route(method, std::move(prefix), true, std::move(h), std::move(options)));
    std::stable_sort(prefixes_.begin(), prefixes_.end(), [](const route& a, const route& b) {
        return a.pattern.size() > b.pattern.size();
    });
    return *this;
}

router& router::set_fallback(handler h, route_options options) {
    if (options.name.empty()) {
        options.name = "fallback";
    }
    fallback_ = route{verb::unknown, "", true, std::move(h), std::move(options)};
    return *this;
}

route_match router::match(verb method, std::string_view path) const {
    const route* get_route = nullptr;
    std::string allow;
    bool path_known = false;

    auto consider = [&](const route& r) -> const route* {
        path_known = true;
        if (r.method == method) {
            return &r;
        }
        if (method == verb::head && r.method == verb::get && get_route == nullptr) {
            get_route = &r;
        }
        append_allowed(allow, r.method);
        if (r.method == verb::get) {
            append_allowed(allow, verb::head);
        }
        return nullptr;
    };

    for (const auto& r : exact_) {
        if (r.pattern == path) {
            if (const route* found = consider(r)) {
                return {route_match::kind::found, found, {}};
            }
        }
    }
    // An exact GET serves HEAD before any prefix route is considered.
    if (get_route == nullptr) {
        for (const auto& r : prefixes_) {
            if (path.starts_with(r.pattern)) {
                if (const route* found = consider(r)) {
                    return {route_match::kind::found, found, {}};
                }
            }
        }
    }
    if (get_route != nullptr) {
        return {route_match::kind::found, get_route, {}};
    }
    if (path_known) {
        return {route_match::kind::method_not_allowed, nullptr, std::move(allow)};
    }
    if (fallback_) {
        return {route_match::kind::found, &*fallback_, {}};
    }
    return {route_match::kind::not_found, nullptr, {}};
}

}  // namespace mgw::http
