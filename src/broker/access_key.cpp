// Access keys from OpenSSL: RAND_bytes for the key, SHA-256 for what is kept.
#include "access_key.hpp"

#include <array>

#include <openssl/rand.h>
#include <openssl/sha.h>

namespace mgw::broker {

namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

void append_hex(std::string& out, const unsigned char* bytes, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(hex_digits[bytes[i] >> 4]);
        out.push_back(hex_digits[bytes[i] & 0x0f]);
    }
}

}  // namespace

std::optional<std::string> generate_access_key() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        return std::nullopt;
    }
    std::string key;
    key.reserve(36);
    std::size_t offset = 0;
    for (std::size_t group : {4u, 2u, 2u, 2u, 6u}) {
        if (offset != 0) {
            key.push_back('-');
        }
        append_hex(key, bytes.data() + offset, group);
        offset += group;
    }
    return key;
}

std::string hash_access_key(std::string_view access_key) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(access_key.data()), access_key.size(),
           digest.data());
    std::string out;
    out.reserve(digest.size() * 2);
    append_hex(out, digest.data(), digest.size());
    return out;
}

}  // namespace mgw::broker
