// Unit-test support: the SHA-256 of a byte string as lower-case hex. The golden tests compare
// whole answers by it, and the cluster's binding records carry an access key's hash in this
// form (the broker's own hash function is internal to it).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace mgw::test {

inline std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
    std::string hex;
    hex.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        hex += "0123456789abcdef"[digest[i] >> 4];
        hex += "0123456789abcdef"[digest[i] & 0x0f];
    }
    return hex;
}

}  // namespace mgw::test
