// Local RS256 verification with keys generated here by OpenSSL and published as a JWK set
// (n/e, as UAA's /token_keys does) or as a PEM `value`.
#include "bosh/jwt.hpp"

#include <chrono>

#include <catch2/catch.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

using namespace mgw::bosh;

namespace {

struct rsa_key {
    rsa_key() : key(EVP_RSA_gen(2048)) { REQUIRE(key != nullptr); }
    ~rsa_key() { EVP_PKEY_free(key); }
    rsa_key(const rsa_key&) = delete;
    rsa_key& operator=(const rsa_key&) = delete;

    std::string param(const char* name) const {
        BIGNUM* bn = nullptr;
        REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
        std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
        BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
        BN_free(bn);
        return base64url_encode(bytes);
    }

    std::string jwk(const std::string& kid) const {
        return R"({"kty":"RSA","alg":"RS256","use":"sig","kid":")" + kid + R"(","n":")" +
               param(OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" + param(OSSL_PKEY_PARAM_RSA_E) + "\"}";
    }

    std::string pem() const {
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(bio, key);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        std::string out(data, static_cast<std::size_t>(n));
        BIO_free(bio);
        return out;
    }

    std::string sign(const std::string& header, const std::string& payload) const {
        const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        std::size_t size = 0;
        REQUIRE(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1);
        REQUIRE(EVP_DigestSign(md, nullptr, &size,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
        std::string signature(size, '\0');
        REQUIRE(EVP_DigestSign(md, reinterpret_cast<unsigned char*>(signature.data()), &size,
                               reinterpret_cast<const unsigned char*>(input.data()),
                               input.size()) == 1);
        EVP_MD_CTX_free(md);
        signature.resize(size);
        return input + "." + base64url_encode(signature);
    }

    EVP_PKEY* key;
};

constexpr std::int64_t now = 1'800'000'000;
constexpr std::string_view authority = "bosh.system_metrics.read";

std::string claims(std::int64_t exp, const std::string& grants) {
    return R"({"jti":"1","client_id":"forwarder","exp":)" + std::to_string(exp) + "," + grants +
           "}";
}

const std::string good_grants =
    R"("authorities":["bosh.system_metrics.read"],"scope":["bosh.system_metrics.read"])";

jwt_result verify(std::string_view token, const jwk_set& keys, std::string_view issuer = {}) {
    jwt_expectations expect;
    expect.now_unix = now;
    expect.authority = authority;
    expect.issuer = issuer;
    return verify_jwt(token, keys, expect);
}

jwk_set keys_of(const std::string& json) {
    jwk_set keys;
    std::string error;
    REQUIRE(keys.parse(json, error));
    return keys;
}

}  // namespace

TEST_CASE("a token signed by a published key, unexpired, with the authority is accepted", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("key-1") + "]}");
    const std::string token =
        key.sign(R"({"alg":"RS256","kid":"key-1","typ":"JWT"})", claims(now + 600, good_grants));
    const jwt_result r = verify(token, keys);
    CHECK(r.status == jwt_status::ok);
    CHECK(r.expires_at == now + 600);
    CHECK(r.kid == "key-1");
}

TEST_CASE("authority in scope only or in authorities only both count", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    const std::string header = R"({"alg":"RS256","kid":"k"})";
    CHECK(
        verify(key.sign(header, claims(now + 60, R"("scope":["bosh.system_metrics.read"])")), keys)
            .status == jwt_status::ok);
    CHECK(
        verify(key.sign(header, claims(now + 60,
                                       R"("authorities":["uaa.none","bosh.system_metrics.read"])")),
               keys)
            .status == jwt_status::ok);
    CHECK(verify(key.sign(header, claims(now + 60, R"("scope":"openid bosh.system_metrics.read")")),
                 keys)
              .status == jwt_status::ok);
}

TEST_CASE("missing authority, expiry, wrong signature, unknown key are told apart", "[jwt]") {
    const rsa_key key;
    const rsa_key other;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    const std::string header = R"({"alg":"RS256","kid":"k"})";
    CHECK(verify(key.sign(header, claims(now + 60, R"("scope":["cloud_controller.read"])")), keys)
              .status == jwt_status::missing_authority);
    CHECK(verify(key.sign(header, claims(now - 1, good_grants)), keys).status ==
          jwt_status::expired);
    CHECK(verify(key.sign(header, claims(now, good_grants)), keys).status == jwt_status::expired);
    CHECK(verify(key.sign(header, R"({"scope":["bosh.system_metrics.read"]})"), keys).status ==
          jwt_status::expired);  // no exp at all
    CHECK(verify(other.sign(header, claims(now + 60, good_grants)), keys).status ==
          jwt_status::bad_signature);
    CHECK(
        verify(key.sign(R"({"alg":"RS256","kid":"rotated"})", claims(now + 60, good_grants)), keys)
            .status == jwt_status::unknown_key);

    // A valid token whose payload was swapped keeps its signature: it must not verify.
    const std::string genuine = key.sign(header, claims(now + 60, R"("scope":["x"])"));
    const std::string forged_payload = base64url_encode(claims(now + 60, good_grants));
    const std::size_t dot1 = genuine.find('.');
    const std::size_t dot2 = genuine.find('.', dot1 + 1);
    const std::string forged = genuine.substr(0, dot1 + 1) + forged_payload + genuine.substr(dot2);
    CHECK(verify(forged, keys).status == jwt_status::bad_signature);
}

TEST_CASE("tokens that are not RS256 JWTs are malformed", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    CHECK(verify("", keys).status == jwt_status::malformed);
    CHECK(verify("abc", keys).status == jwt_status::malformed);
    CHECK(verify("a.b.c.d", keys).status == jwt_status::malformed);
    CHECK(verify("!!.??.**", keys).status == jwt_status::malformed);
    CHECK(verify(key.sign(R"({"alg":"none","kid":"k"})", claims(now + 60, good_grants)), keys)
              .status == jwt_status::malformed);
    CHECK(verify(key.sign(R"({"alg":"HS256","kid":"k"})", claims(now + 60, good_grants)), keys)
              .status == jwt_status::malformed);
    CHECK(verify(key.sign("[]", claims(now + 60, good_grants)), keys).status ==
          jwt_status::malformed);
}

TEST_CASE("UAA's PEM `value` form of a key works too, and a lone key needs no kid", "[jwt]") {
    const rsa_key key;
    std::string pem = key.pem();
    std::string escaped;
    for (const char c : pem) {
        if (c == '\n') {
            escaped += "\\n";
        } else {
            escaped += c;
        }
    }
    const jwk_set keys = keys_of(R"({"kty":"RSA","value":")" + escaped + "\"}");
    CHECK(keys.size() == 1);
    CHECK(verify(key.sign(R"({"alg":"RS256"})", claims(now + 60, good_grants)), keys).status ==
          jwt_status::ok);
}

TEST_CASE("key sets without a usable RSA key are refused", "[jwt]") {
    jwk_set keys;
    std::string error;
    CHECK_FALSE(keys.parse("nope", error));
    CHECK_FALSE(keys.parse(R"({"keys":[]})", error));
    CHECK_FALSE(keys.parse(R"({"keys":[{"kty":"EC","kid":"e","x":"AA","y":"AA"}]})", error));
    CHECK_FALSE(keys.parse(R"({"keys":[{"kty":"RSA","kid":"r","n":"!!","e":"AQAB"}]})", error));
    CHECK(error == "token keys: no usable RSA key");
}

TEST_CASE("base64url round-trips every length", "[jwt]") {
    std::string bytes;
    for (int i = 0; i < 40; ++i) {
        std::string decoded;
        REQUIRE(base64url_decode(base64url_encode(bytes), decoded));
        CHECK(decoded == bytes);
        bytes += static_cast<char>(i * 37);
    }
    std::string out;
    CHECK_FALSE(base64url_decode("a", out));
    CHECK_FALSE(base64url_decode("ab$d", out));
}

// Issue 10 item 1's class in the local path: nothing a token or a key set says about itself is
// trusted beyond what RS256 with a published RSA key proves.
TEST_CASE("a token from another issuer is refused when an issuer is expected", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    const std::string header = R"({"alg":"RS256","kid":"k"})";
    const std::string ours = "https://uaa.example.com/oauth/token";
    const std::string with_iss = R"("iss":")" + ours + R"(",)" + good_grants;
    CHECK(verify(key.sign(header, claims(now + 60, with_iss)), keys, ours).status ==
          jwt_status::ok);
    const std::string zone = R"("iss":"https://tenant.uaa.example.com/oauth/token",)" + good_grants;
    CHECK(verify(key.sign(header, claims(now + 60, zone)), keys, ours).status ==
          jwt_status::wrong_issuer);
    CHECK(verify(key.sign(header, claims(now + 60, good_grants)), keys, ours).status ==
          jwt_status::wrong_issuer);  // no iss at all
    const std::string numeric_iss = R"("iss":7,)" + good_grants;
    CHECK(verify(key.sign(header, claims(now + 60, numeric_iss)), keys, ours).status ==
          jwt_status::wrong_issuer);
}

TEST_CASE("nbf in the future, and exp or nbf that are not integers, are refused", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    const std::string header = R"({"alg":"RS256","kid":"k"})";
    auto with = [&](const std::string& extra) {
        return key.sign(header, R"({"exp":)" + std::to_string(now + 600) + "," + extra + "," +
                                    good_grants + "}");
    };
    CHECK(verify(with(R"("nbf":)" + std::to_string(now + 3600)), keys).status ==
          jwt_status::not_yet_valid);
    CHECK(verify(with(R"("nbf":)" + std::to_string(now + 10)), keys).status ==
          jwt_status::ok);  // within the clock-skew leeway
    CHECK(verify(with(R"("nbf":"yesterday")"), keys).status == jwt_status::malformed);
    const std::string string_exp =
        R"({"exp":")" + std::to_string(now + 600) + R"(",)" + good_grants + "}";
    CHECK(verify(key.sign(header, string_exp), keys).status == jwt_status::expired);
    const std::string huge_exp = R"({"exp":1e300,)" + good_grants + "}";
    CHECK(verify(key.sign(header, huge_exp), keys).status == jwt_status::expired);
    const std::string fractional_exp = R"({"exp":1800000600.5,)" + good_grants + "}";
    CHECK(verify(key.sign(header, fractional_exp), keys).status == jwt_status::expired);
}

TEST_CASE("critical header extensions and non-string kids are refused", "[jwt]") {
    const rsa_key key;
    const jwk_set keys = keys_of(R"({"keys":[)" + key.jwk("k") + "]}");
    const std::string body = claims(now + 60, good_grants);
    CHECK(verify(key.sign(R"({"alg":"RS256","kid":"k","crit":["exp"]})", body), keys).status ==
          jwt_status::malformed);
    CHECK(verify(key.sign(R"({"alg":"RS256","kid":["k"]})", body), keys).status ==
          jwt_status::malformed);
    // A key embedded in the token itself is never used.
    CHECK(verify(key.sign(R"({"alg":"RS256","kid":"nope","jwk":{"kty":"RSA"}})", body), keys)
              .status == jwt_status::unknown_key);
}

TEST_CASE("only RSA signing keys of at least 2048 bits are taken from /token_keys", "[jwt]") {
    const rsa_key key;
    const std::string jwk = key.jwk("k");
    jwk_set keys;
    std::string error;
    // The key says it is for encryption, or for another algorithm: not used to verify RS256.
    CHECK_FALSE(keys.parse(
        R"({"keys":[{"kty":"RSA","use":"enc","kid":"k",)" + jwk.substr(jwk.find("\"n\"")) + "]}",
        error));
    CHECK_FALSE(keys.parse(
        R"({"keys":[{"kty":"RSA","alg":"PS256","kid":"k",)" + jwk.substr(jwk.find("\"n\"")) + "]}",
        error));
    CHECK_FALSE(keys.parse(R"({"keys":[{"kty":7,"kid":"k",)" + jwk.substr(jwk.find("\"n\"")) + "]}",
                           error));

    // An EC key in PEM form (`value`, no kty) must not verify tokens that say RS256.
    EVP_PKEY* ec = EVP_EC_gen("P-256");
    REQUIRE(ec != nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, ec);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem;
    for (const char c : std::string(data, static_cast<std::size_t>(n))) {
        pem += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    BIO_free(bio);
    EVP_PKEY_free(ec);
    CHECK_FALSE(keys.parse(R"({"value":")" + pem + "\"}", error));

    // A 1024-bit RSA key is too short to be trusted.
    EVP_PKEY* small = EVP_RSA_gen(1024);
    REQUIRE(small != nullptr);
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(small, OSSL_PKEY_PARAM_RSA_N, &bn) == 1);
    std::string modulus(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(modulus.data()));
    BN_free(bn);
    EVP_PKEY_free(small);
    CHECK_FALSE(keys.parse(R"({"keys":[{"kty":"RSA","kid":"s","n":")" + base64url_encode(modulus) +
                               R"(","e":"AQAB"}]})",
                           error));
    CHECK(error == "token keys: no usable RSA key");

    // The genuine key with UAA's own description is fine.
    CHECK(keys.parse(R"({"keys":[)" + jwk + "]}", error));
}

TEST_CASE("base64url takes the URL-safe alphabet only", "[jwt]") {
    std::string out;
    CHECK(base64url_decode("-_-_", out));
    CHECK_FALSE(base64url_decode("+/+/", out));
    CHECK(base64url_decode("QUJD", out));
    CHECK(out == "ABC");
    CHECK(base64url_decode("QQ==", out));  // padding tolerated
    CHECK(out == "A");
}
