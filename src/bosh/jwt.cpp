// RS256 verification with OpenSSL 3's EVP interfaces; keys are built from the JWK modulus and
// exponent (or UAA's PEM `value`) once per /token_keys fetch and shared read-only afterwards.
#include <array>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <mgw/bosh/jwt.hpp>

namespace mgw::bosh {

namespace json = boost::json;

struct jwk_set::key_holder {
    explicit key_holder(EVP_PKEY* k) : key(k) {}
    ~key_holder() { EVP_PKEY_free(key); }
    key_holder(const key_holder&) = delete;
    key_holder& operator=(const key_holder&) = delete;
    EVP_PKEY* key;
};

jwk_set::jwk_set() = default;
jwk_set::~jwk_set() = default;
jwk_set::jwk_set(jwk_set&&) noexcept = default;
jwk_set& jwk_set::operator=(jwk_set&&) noexcept = default;

std::string_view to_string(jwt_status status) {
    switch (status) {
        case jwt_status::ok:
            return "ok";
        case jwt_status::malformed:
            return "malformed";
        case jwt_status::unknown_key:
            return "unknown_key";
        case jwt_status::bad_signature:
            return "bad_signature";
        case jwt_status::expired:
            return "expired";
        case jwt_status::missing_authority:
            return "missing_authority";
    }
    return "unknown";
}

std::string base64url_encode(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                       std::uint8_t(bytes[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (i + 1 == bytes.size()) {
        const auto v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        const auto v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    out.clear();
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return false;
    }
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
        int v = -1;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '-' || c == '+') {
            v = 62;
        } else if (c == '_' || c == '/') {
            v = 63;
        } else {
            return false;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return true;
}

namespace {

EVP_PKEY* key_from_modulus(const std::string& n, const std::string& e) {
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                             static_cast<int>(n.size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                             static_cast<int>(e.size()), nullptr);
    EVP_PKEY* key = nullptr;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM* params = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (bn_n && bn_e && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
            key = nullptr;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return key;
}

EVP_PKEY* key_from_pem(std::string_view pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) {
        return nullptr;
    }
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return key;
}

std::string string_field(const json::object& o, std::string_view key) {
    const auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
        return {};
    }
    return std::string(it->value().get_string());
}

bool list_contains(const json::object& o, std::string_view key, std::string_view wanted) {
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
    } else if (it->value().is_string()) {
        // Space-separated scope string (RFC 8693 style).
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

}  // namespace

bool jwk_set::parse(std::string_view text, std::string& error) {
    boost::system::error_code ec;
    const json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !doc.is_object()) {
        error = "token keys: not a JSON object";
        return false;
    }
    std::vector<const json::object*> entries;
    if (const auto it = doc.get_object().find("keys"); it != doc.get_object().end()) {
        if (!it->value().is_array()) {
            error = "token keys: \"keys\" is not an array";
            return false;
        }
        for (const auto& k : it->value().get_array()) {
            if (k.is_object()) {
                entries.push_back(&k.get_object());
            }
        }
    } else {
        entries.push_back(&doc.get_object());
    }
    for (const json::object* k : entries) {
        const std::string kty = string_field(*k, "kty");
        if (!kty.empty() && kty != "RSA") {
            continue;
        }
        EVP_PKEY* key = nullptr;
        std::string n;
        std::string e;
        if (base64url_decode(string_field(*k, "n"), n) && !n.empty() &&
            base64url_decode(string_field(*k, "e"), e) && !e.empty()) {
            key = key_from_modulus(n, e);
        }
        if (key == nullptr) {
            const std::string pem = string_field(*k, "value");
            if (!pem.empty()) {
                key = key_from_pem(pem);
            }
        }
        if (key != nullptr) {
            keys_[string_field(*k, "kid")] = std::make_shared<key_holder>(key);
        }
    }
    if (keys_.empty()) {
        error = "token keys: no usable RSA key";
        return false;
    }
    return true;
}

bool jwk_set::has(std::string_view kid) const {
    return keys_.find(kid) != keys_.end();
}

std::size_t jwk_set::size() const {
    return keys_.size();
}

const ::evp_pkey_st* jwk_set::find(std::string_view kid) const {
    if (const auto it = keys_.find(kid); it != keys_.end()) {
        return it->second->key;
    }
    if (kid.empty() && keys_.size() == 1) {
        return keys_.begin()->second->key;
    }
    return nullptr;
}

jwt_result verify_jwt(std::string_view token, const jwk_set& keys, std::int64_t now_unix,
                      std::string_view required_authority) {
    jwt_result result;
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        result.detail = "not a JWT (expected three dot-separated parts)";
        return result;
    }
    std::string header_text;
    std::string payload_text;
    std::string signature;
    if (!base64url_decode(token.substr(0, dot1), header_text) ||
        !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_text) ||
        !base64url_decode(token.substr(dot2 + 1), signature)) {
        result.detail = "not base64url";
        return result;
    }
    boost::system::error_code ec;
    const json::value header = json::parse(header_text, ec);
    if (ec || !header.is_object()) {
        result.detail = "header is not a JSON object";
        return result;
    }
    const json::value payload = json::parse(payload_text, ec);
    if (ec || !payload.is_object()) {
        result.detail = "payload is not a JSON object";
        return result;
    }
    if (string_field(header.get_object(), "alg") != "RS256") {
        result.detail = "alg must be RS256";
        return result;
    }
    result.kid = string_field(header.get_object(), "kid");
    const auto& claims = payload.get_object();
    if (const auto it = claims.find("exp"); it != claims.end() && it->value().is_number()) {
        result.expires_at = it->value().to_number<std::int64_t>(ec);
        if (ec) {
            result.expires_at = 0;
        }
    }

    const ::evp_pkey_st* key = keys.find(result.kid);
    if (key == nullptr) {
        result.status = jwt_status::unknown_key;
        result.detail = "unknown signing key";
        return result;
    }
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    const std::string_view signed_part = token.substr(0, dot2);
    const bool valid =
        md != nullptr &&
        EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(key)) == 1 &&
        EVP_DigestVerify(
            md, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
    EVP_MD_CTX_free(md);
    if (!valid) {
        result.status = jwt_status::bad_signature;
        result.detail = "signature does not verify";
        return result;
    }
    if (result.expires_at == 0 || result.expires_at <= now_unix) {
        result.status = jwt_status::expired;
        result.detail = result.expires_at == 0 ? "no exp claim" : "token expired";
        return result;
    }
    if (!list_contains(claims, "scope", required_authority) &&
        !list_contains(claims, "authorities", required_authority)) {
        result.status = jwt_status::missing_authority;
        result.detail = "token lacks the " + std::string(required_authority) + " authority";
        return result;
    }
    result.status = jwt_status::ok;
    return result;
}

}  // namespace mgw::bosh
