// Listen address syntax. Validation is lexical only: a typo such as "127.0.0.1:80855" or an
// unbracketed IPv6 literal is caught at startup, name resolution happens when binding.
#include <charconv>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <mgw/core/address.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::core {

namespace {

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool is_v6_char(char c) {
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

bool valid_v6_literal(std::string_view text) {
    const std::size_t zone = text.find('%');
    const std::string_view address = text.substr(0, zone);
    if (address.find(':') == std::string_view::npos) {
        return false;
    }
    for (char c : address) {
        if (!is_v6_char(c)) {
            return false;
        }
    }
    if (zone != std::string_view::npos) {
        const std::string_view name = text.substr(zone + 1);
        if (name.empty()) {
            return false;
        }
        for (char c : name) {
            if (!is_host_char(c)) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace

std::string listen_address::to_string() const {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

std::optional<listen_address> parse_listen_address(std::string_view text) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5) {
        return std::nullopt;
    }
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return std::nullopt;
    }
    if (host.starts_with('[')) {
        if (!host.ends_with(']')) {
            return std::nullopt;
        }
        host = host.substr(1, host.size() - 2);
        if (!valid_v6_literal(host)) {
            return std::nullopt;
        }
    } else {
        for (char c : host) {
            if (!is_host_char(c)) {
                return std::nullopt;
            }
        }
    }
    return listen_address{std::string(host), static_cast<std::uint16_t>(port)};
}

bool is_loopback_host(std::string_view host) {
    if (text::iequals(host, "localhost")) {
        return true;
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(host), ec);
    if (ec) {
        return false;
    }
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
            .is_loopback();
    }
    return address.is_loopback();
}

}  // namespace mgw::core
