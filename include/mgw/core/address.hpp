// Listen addresses from the config ("host:port", "[::1]:port", ":port"), kept as text so the
// resolver, not the config loader, decides what a host name means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mgw::core {

struct listen_address {
    std::string host;  // empty: every interface; IPv6 literals without brackets
    std::uint16_t port = 0;

    // "127.0.0.1:8085", "[::1]:8085", ":8085" (the inverse of parse_listen_address).
    std::string to_string() const;

    friend bool operator==(const listen_address&, const listen_address&) = default;
};

// Accepts "host:port" where host is a DNS name or IPv4 literal, "[v6]:port" (an optional
// "%zone" inside the brackets), or ":port"; port is a decimal in 0..65535 (0: any free port).
// Returns nullopt for anything else, notably an IPv6 literal without brackets.
std::optional<listen_address> parse_listen_address(std::string_view text);

// True when `host` can only mean this machine: "localhost" (RFC 6761), 127.0.0.0/8, ::1 (or
// ::ffff:127.x.y.z). False for "" (every interface), other names and other addresses; a
// listener that must not be reached from the network is refused unless this holds.
bool is_loopback_host(std::string_view host);

}  // namespace mgw::core
