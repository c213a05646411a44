// Same-authority redirect resolution with Boost.URL (RFC 3986 reference resolution).
#include "redirect.hpp"

#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <mgw/text/ascii.hpp>

namespace mgw::scrape {

std::optional<std::string> resolve_redirect(const scrape_target& target,
                                            std::string_view current_path,
                                            std::string_view location) {
    const std::string_view scheme = target.tls ? "https" : "http";
    const std::string host =
        target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
    const std::string base_text = std::string(scheme) + "://" + host + ":" +
                                  std::to_string(target.port) + std::string(current_path);
    const auto base = boost::urls::parse_uri(base_text);
    const auto reference = boost::urls::parse_uri_reference(location);
    if (!base || !reference) {
        return std::nullopt;
    }
    boost::urls::url resolved;
    if (!boost::urls::resolve(*base, *reference, resolved)) {
        return std::nullopt;
    }
    if (!text::iequals(resolved.scheme(), scheme)) {
        return std::nullopt;
    }
    std::string_view resolved_host = resolved.encoded_host_address();
    if (resolved_host.size() >= 2 && resolved_host.front() == '[') {
        resolved_host = resolved_host.substr(1, resolved_host.size() - 2);
    }
    if (!text::iequals(resolved_host, target.host)) {
        return std::nullopt;
    }
    std::uint16_t port = target.tls ? 443 : 80;
    if (resolved.has_port()) {
        const std::string_view text = resolved.port();
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            return std::nullopt;
        }
    }
    if (port != target.port) {
        return std::nullopt;
    }
    std::string next(resolved.encoded_path());
    if (next.empty()) {
        next = "/";
    }
    if (resolved.has_query()) {
        next += '?';
        next += resolved.encoded_query();
    }
    return next;
}

}  // namespace mgw::scrape
