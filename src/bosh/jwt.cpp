// RS256 verification with OpenSSL 3's EVP interfaces; keys are built from the JWK modulus and
// exponent (or UAA's PEM `value`) once per /token_keys fetch and shared read-only afterwards.
#include "jwt.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "token_claims.hpp"

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
        case jwt_status::not_yet_valid:
            return "not_yet_valid";
        case jwt_status::wrong_issuer:
            return "wrong_issuer";
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
        } else if (c == '-') {
            v = 62;
        } else if (c == '_') {
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

// `kty`, `use` and `alg` are optional (UAA's old /token_key sends only `value`), but when a
// key states them they must describe an RS256 signing key.
bool stated_as(const json::object& k, std::string_view name,
               std::initializer_list<std::string_view> allowed) {
    const auto it = k.find(name);
    if (it == k.end()) {
        return true;
    }
    if (!it->value().is_string()) {
        return false;
    }
    const std::string_view value = it->value().get_string();
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool acceptable_key_description(const json::object& k) {
    return stated_as(k, "kty", {"RSA"}) && stated_as(k, "use", {"sig"}) &&
           stated_as(k, "alg", {"RS256", "SHA256withRSA"});
}

jwt_result failed(jwt_status status, std::string detail) {
    jwt_result r;
    r.status = status;
    r.detail = std::move(detail);
    return r;
}

}  // namespace

bool jwk_set::parse(std::string_view text, std::string& error) {
    keys_.clear();  // the set is what this document says, nothing older
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
        if (!acceptable_key_description(*k)) {
            continue;
        }
        EVP_PKEY* key = nullptr;
        std::string n;
        std::string e;
        if (base64url_decode(claims::string_field(*k, "n"), n) && !n.empty() &&
            base64url_decode(claims::string_field(*k, "e"), e) && !e.empty()) {
            key = key_from_modulus(n, e);
        }
        if (key == nullptr) {
            const std::string pem = claims::string_field(*k, "value");
            if (!pem.empty()) {
                key = key_from_pem(pem);
            }
        }
        if (key == nullptr) {
            continue;
        }
        // A PEM `value` may hold any kind of public key: only RSA keys verify RS256, and only
        // long enough ones are trusted.
        if (EVP_PKEY_is_a(key, "RSA") != 1 || EVP_PKEY_get_bits(key) < min_rsa_bits) {
            EVP_PKEY_free(key);
            continue;
        }
        keys_[claims::string_field(*k, "kid")] = std::make_shared<key_holder>(key);
    }
    ERR_clear_error();  // keys that failed to load leave OpenSSL errors behind
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

jwt_result check_jwt_claims(std::string_view payload_json, const jwt_expectations& expect) {
    boost::system::error_code ec;
    const json::value payload =
        json::parse(json::string_view(payload_json.data(), payload_json.size()), ec);
    if (ec || !payload.is_object()) {
        return failed(jwt_status::malformed, "payload is not a JSON object");
    }
    const auto& fields = payload.get_object();
    jwt_result result;
    const auto exp = fields.find("exp");
    const auto expires_at = exp == fields.end() ? std::nullopt : claims::numeric_date(exp->value());
    if (!expires_at) {
        return failed(jwt_status::expired, "no integer exp claim");
    }
    result.expires_at = *expires_at;
    if (*expires_at <= expect.now_unix) {
        result.status = jwt_status::expired;
        result.detail = "token expired";
        return result;
    }
    if (const auto nbf = fields.find("nbf"); nbf != fields.end()) {
        const auto not_before = claims::numeric_date(nbf->value());
        if (!not_before) {
            return failed(jwt_status::malformed, "nbf is not an integer");
        }
        if (*not_before > expect.now_unix + expect.nbf_leeway_seconds) {
            return failed(jwt_status::not_yet_valid, "token not valid yet (nbf)");
        }
    }
    if (!expect.issuer.empty() && claims::string_field(fields, "iss") != expect.issuer) {
        return failed(jwt_status::wrong_issuer,
                      "token issuer is not " + std::string(expect.issuer));
    }
    if (!claims::grants(fields, "scope", expect.authority) &&
        !claims::grants(fields, "authorities", expect.authority)) {
        result.status = jwt_status::missing_authority;
        result.detail = "token lacks the " + std::string(expect.authority) + " authority";
        return result;
    }
    result.status = jwt_status::ok;
    return result;
}

jwt_result verify_jwt(std::string_view token, const jwk_set& keys, const jwt_expectations& expect) {
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return failed(jwt_status::malformed, "not a JWT (expected three dot-separated parts)");
    }
    std::string header_text;
    std::string payload_text;
    std::string signature;
    if (!base64url_decode(token.substr(0, dot1), header_text) ||
        !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_text) ||
        !base64url_decode(token.substr(dot2 + 1), signature)) {
        return failed(jwt_status::malformed, "not base64url");
    }
    boost::system::error_code ec;
    const json::value header = json::parse(header_text, ec);
    if (ec || !header.is_object()) {
        return failed(jwt_status::malformed, "header is not a JSON object");
    }
    const auto& fields = header.get_object();
    if (claims::string_field(fields, "alg") != "RS256") {
        return failed(jwt_status::malformed, "alg must be RS256");
    }
    // RFC 7515 §4.1.11: extensions the verifier does not understand must not be ignored.
    if (fields.contains("crit")) {
        return failed(jwt_status::malformed, "unsupported crit header");
    }
    const auto kid = fields.find("kid");
    if (kid != fields.end() && !kid->value().is_string()) {
        return failed(jwt_status::malformed, "kid is not a string");
    }
    const std::string key_id = claims::string_field(fields, "kid");

    const ::evp_pkey_st* key = keys.find(key_id);
    if (key == nullptr) {
        jwt_result r = failed(jwt_status::unknown_key, "unknown signing key");
        r.kid = key_id;
        return r;
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
        ERR_clear_error();  // what a forged token left must not reach the next TLS call
        jwt_result r = failed(jwt_status::bad_signature, "signature does not verify");
        r.kid = key_id;
        return r;
    }
    jwt_result r = check_jwt_claims(payload_text, expect);
    r.kid = key_id;
    return r;
}

}  // namespace mgw::bosh
