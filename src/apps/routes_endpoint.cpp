// GET /routes: a snapshot of the route table, rendered by the routes module.
#include <algorithm>
#include <cctype>

#include <boost/beast/core/detail/base64.hpp>

#include <mgw/apps/routes_endpoint.hpp>
#include <mgw/routes/route_snapshot.hpp>

namespace mgw::apps {

namespace {

std::string base64(std::string_view text) {
    namespace base64 = boost::beast::detail::base64;
    std::string out(base64::encoded_size(text.size()), '\0');
    out.resize(base64::encode(out.data(), text.data(), text.size()));
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    unsigned char difference = a.size() == b.size() ? 0 : 1;
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return difference == 0;
}

}  // namespace

bool basic_auth_matches(std::string_view authorization, const basic_credentials& credentials) {
    if (credentials.username.empty()) {
        return false;
    }
    constexpr std::string_view scheme = "Basic ";
    if (authorization.size() < scheme.size()) {
        return false;
    }
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i]))) {
            return false;
        }
    }
    authorization.remove_prefix(scheme.size());
    const std::string expected = base64(credentials.username + ":" + credentials.password);
    return constant_time_equal(authorization, expected);
}

http::handler make_routes_handler(const routes::route_table& table, basic_credentials credentials) {
    return [&table, credentials = std::move(credentials)](
               http::request_context& request,
               http::response& response) -> boost::asio::awaitable<void> {
        if (!basic_auth_matches(request.header("Authorization").value_or(""), credentials)) {
            response.status(http::status::unauthorized);
            response.set("WWW-Authenticate", R"(Basic realm="metrics-gateway routes")");
            response.set("Content-Type", "text/plain; charset=utf-8");
            response.body(credentials.username.empty()
                              ? "401 Unauthorized: set routes_api.username and "
                                "routes_api.password to enable /routes\n"
                              : "401 Unauthorized\n");
            co_return;
        }
        response.set("Content-Type", "application/json");
        response.body(routes::routes_json(*table.snapshot(), routes::route_clock::now()));
    };
}

}  // namespace mgw::apps
