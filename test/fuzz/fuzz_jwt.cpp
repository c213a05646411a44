// libFuzzer target: the local UAA token check on arbitrary tokens (verify_jwt, with a fixed
// published RSA key) and the claim checks on arbitrary payloads (check_jwt_claims, the part
// after the signature, which a fuzzer could not reach through a forged signature). Neither may
// crash, throw or leak, and nothing may pass that does not say what a pass requires.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "bosh/jwt.hpp"

namespace {

constexpr std::int64_t now = 1'800'000'000;
constexpr std::string_view authority = "bosh.system_metrics.read";
constexpr std::string_view issuer = "https://uaa.example.com/oauth/token";

// A 2048-bit key made for this target; the seed token in seeds/jwt/ is signed with it.
const mgw::bosh::jwk_set& keys() {
    static const mgw::bosh::jwk_set set = [] {
        mgw::bosh::jwk_set s;
        std::string error;
        if (!s.parse(
                R"({"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"fuzz-key","e":"AQAB","n":"16qkr4_ub6KsYf-5TzB3hI4mybpLnB1Gw8deg2qaNGGu-seEX5gwZdxzG2Paw9nMrmx79ZG1cixjPhWoXWjcLQwtl3rRvAcOvaXr6533f-ZCEE7M4Hxk47V6fgZspQrmQHQsgyh53wFPpQpq_1wgpDuBB85PVqXRFPNG4BIxnKIvyQZdx7QjwjKVZuR-ua_C0_gkbePEKVvg_fSGzAW4Fr5FPbZWATvvguBEUFjDgegqeF91vlwxYmeRdL33LrUzZ64dfdZGu1_YjLQs_rDPdd4WtQFUwvetckyNm3AJo7823B6S0uRuL9LZ9UFIKDocPpPEG_8L0PqYamb2hoQgFw"}]})",
                error)) {
            std::abort();
        }
        return s;
    }();
    return set;
}

// Whether a payload that passed says what a pass requires: the authority and the issuer, read
// as JSON (`\/` is a slash there: UAA's own payloads may escape it).
bool says_what_a_pass_requires(std::string_view payload) {
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(payload, ec);
    if (ec) {
        return false;
    }
    const std::string canonical = boost::json::serialize(value);
    return canonical.find(authority) != std::string::npos &&
           canonical.find("\"" + std::string(issuer) + "\"") != std::string::npos;
}

mgw::bosh::jwt_expectations expectations() {
    mgw::bosh::jwt_expectations expect;
    expect.now_unix = now;
    expect.authority = authority;
    expect.issuer = issuer;
    return expect;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    const mgw::bosh::jwt_result token = mgw::bosh::verify_jwt(input, keys(), expectations());
    if (token.status == mgw::bosh::jwt_status::ok) {
        // Only the genuine signing input passes; what it says must be what a pass requires.
        const std::size_t dot1 = input.find('.');
        const std::size_t dot2 = input.find('.', dot1 + 1);
        std::string payload;
        if (token.expires_at <= now || dot2 == std::string_view::npos ||
            !mgw::bosh::base64url_decode(input.substr(dot1 + 1, dot2 - dot1 - 1), payload) ||
            !says_what_a_pass_requires(payload)) {
            std::abort();
        }
    }

    const mgw::bosh::jwt_result claims = mgw::bosh::check_jwt_claims(input, expectations());
    if (claims.status == mgw::bosh::jwt_status::ok &&
        (claims.expires_at <= now || !says_what_a_pass_requires(input))) {
        std::abort();
    }
    return 0;
}
