// Basic authentication: base64 of `username:password` compared without an early exit.
#include <algorithm>

#include <boost/beast/core/detail/base64.hpp>

#include <mgw/http/basic_auth.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::http {

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
    constexpr std::string_view scheme = "basic ";
    if (credentials.username.empty() || !text::istarts_with(authorization, scheme)) {
        return false;
    }
    std::string pair = credentials.username;
    pair += ':';
    pair += credentials.password;
    return constant_time_equal(authorization.substr(scheme.size()), base64(pair));
}

}  // namespace mgw::http
