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
    // key object, as older UAAs serve on /token_key, is accepted too). A key is kept only when
    // it is an RSA key of at least min_rsa_bits, and says nothing else about itself (`kty`,
    // `use`, `alg`) when it says anything: any other key could only verify tokens UAA did not
    // sign with RS256. Replaces what the set held. Returns false with `error` set when nothing
    // usable is in `json`.
    bool parse(std::string_view json, std::string& error);

    bool has(std::string_view kid) const;
    std::size_t size() const;
    // The key for `kid`; the only key when `kid` is empty and there is exactly one.
    const ::evp_pkey_st* find(std::string_view kid) const;

  private:
    struct key_holder;
    std::map<std::string, std::shared_ptr<key_holder>, std::less<>> keys_;
};

// Keys shorter than this are not used, whatever /token_keys serves.
inline constexpr int min_rsa_bits = 2048;

enum class jwt_status {
    ok,
    malformed,    // not three base64url parts of JSON objects, not RS256, or a `crit` header
    unknown_key,  // `kid` not in the key set (refresh the keys and retry once)
    bad_signature,
    expired,            // no integer exp, or exp <= now
    not_yet_valid,      // nbf later than now (plus the leeway for clock skew)
    wrong_issuer,       // iss is not the expected issuer
    missing_authority,  // neither `scope` nor `authorities` holds the required one
};

std::string_view to_string(jwt_status status);

struct jwt_result {
    jwt_status status = jwt_status::malformed;
    std::string kid;
    std::int64_t expires_at = 0;  // `exp`, unix seconds (when the payload was readable)
    std::string detail;
};

// What a token must say about itself once its signature holds.
struct jwt_expectations {
    std::int64_t now_unix = 0;
    std::string_view authority;  // in `scope` or `authorities` (array, or space-separated)
    std::string_view issuer;     // `iss` must equal it; empty: not checked
    std::int64_t nbf_leeway_seconds = 30;
};

// Checks, in order: shape (three base64url parts, header and payload JSON objects), header
// (alg RS256, no `crit`, a string kid if any), key, signature, then the claims below.
jwt_result verify_jwt(std::string_view token, const jwk_set& keys, const jwt_expectations& expect);
// The claim checks alone, on a payload whose signature was verified: exp (required, an
// integer, later than now), nbf (when present), iss, then the authority.
jwt_result check_jwt_claims(std::string_view payload_json, const jwt_expectations& expect);

// base64url without padding (RFC 7515), as JWTs use it. The decoder takes only the URL-safe
// alphabet, with trailing '=' padding tolerated (some JWK publishers add it).
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace mgw::bosh
