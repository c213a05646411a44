// Status names and grpc-message percent-encoding (gRPC over HTTP/2, "Responses").
#include <array>

#include <mgw/grpc/status.hpp>

namespace mgw::grpc {

namespace {

constexpr std::array<std::string_view, 17> names{
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

std::string_view to_string(status_code code) {
    const auto i = static_cast<std::size_t>(code);
    return i < names.size() ? names[i] : std::string_view("UNKNOWN");
}

std::optional<status_code> parse_status_code(std::string_view value) {
    if (value.empty() || value.size() > 2) {
        return std::nullopt;
    }
    unsigned n = 0;
    for (char c : value) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n >= names.size()) {
        return std::nullopt;
    }
    return static_cast<status_code>(n);
}

std::string percent_encode(std::string_view message) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(message.size());
    for (char c : message) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b <= 0x7e && b != '%') {
            out += c;
        } else {
            out += '%';
            out += digits[b >> 4];
            out += digits[b & 0x0f];
        }
    }
    return out;
}

std::string percent_decode(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] == '%' && i + 2 < encoded.size()) {
            const int hi = hex_value(encoded[i + 1]);
            const int lo = hex_value(encoded[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>((hi << 4) | lo);
                i += 2;
                continue;
            }
        }
        out += encoded[i];
    }
    return out;
}

}  // namespace mgw::grpc
