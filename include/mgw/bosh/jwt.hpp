// BOSH module: local verification of UAA access tokens (RS256 JWTs) against the keys UAA
// publishes on /token_keys. Pure: OpenSSL for the signature, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace mgw::bosh {

// A parsed /token_keys document: RSA public keys by `kid`.
class jwk_set {
  public:
    jwk_set();
    ~jwk_set();
    jwk_set(jwk_set&&) noexcept;
    jwk_set& operator=(jwk_set&&) noexcept;

    // Parses {"keys":[{"kty":"RSA","kid":..,"n":..,"e":..} or {"value": PEM}, ...]} (a single
    // key object, as older UAAs serve on /token_key, is accepted too). Keys that are not RSA
    // are skipped. Returns false with `error` set when nothing usable is in `json`.
    bool parse(std::string_view json, std::string& error);

    bool has(std::string_view kid) const;
    std::size_t size() const;
    // The key for `kid`; the only key when `kid` is empty and there is exactly one.
    const ::evp_pkey_st* find(std::string_view kid) const;

  private:
    struct key_holder;
    std::map<std::string, std::shared_ptr<key_holder>, std::less<>> keys_;
};

enum class jwt_status {
    ok,
    malformed,    // not three base64url parts of JSON, or not RS256
    unknown_key,  // `kid` not in the key set (refresh the keys and retry once)
    bad_signature,
    expired,            // exp <= now
    missing_authority,  // neither `scope` nor `authorities` holds the required one
};

std::string_view to_string(jwt_status status);

struct jwt_result {
    jwt_status status = jwt_status::malformed;
    std::string kid;
    std::int64_t expires_at = 0;  // `exp`, unix seconds (when the payload was readable)
    std::string detail;
};

// Checks, in order: shape and alg RS256, key, signature, exp (required), then that `scope` or
// `authorities` contains `required_authority`.
jwt_result verify_jwt(std::string_view token, const jwk_set& keys, std::int64_t now_unix,
                      std::string_view required_authority);

// base64url without padding (RFC 7515), as JWTs use it. For tests and signing helpers.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace mgw::bosh
