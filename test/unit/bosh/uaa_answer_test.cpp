// What UAA's /check_token answers mean (issue 10 item 1): only a JSON object that grants the
// authority and has not expired lets a client in; a 200 of any other shape is UAA (or
// whatever answered for it) misbehaving: 503, never cached, never a pass.
#include "bosh/uaa_answer.hpp"

#include <catch2/catch.hpp>

using namespace mgw::bosh;

namespace {

constexpr std::int64_t now = 1'800'000'000;

token_verdict read(unsigned status, std::string_view body) {
    check_token_context context;
    context.authority = "bosh.system_metrics.read";
    context.now_unix = now;
    context.negative_ttl_seconds = 60;
    context.max_positive_ttl_seconds = 300;
    return read_check_token_answer(status, body, context);
}

std::string granted(std::int64_t exp, std::string_view grants) {
    return R"({"client_id":"forwarder","exp":)" + std::to_string(exp) + "," + std::string(grants) +
           "}";
}

}  // namespace

TEST_CASE("a 200 that is not a JSON object is a 503, not an acceptance", "[uaa]") {
    for (const char* body :
         {"", "OK", "<html><body>Welcome</body></html>", "true", "[]", "null", "\"ok\"",
          R"({"scope":["bosh.system_metrics.read"])", "{\"exp\":1}garbage"}) {
        INFO(body);
        const token_verdict v = read(200, body);
        CHECK(v.decision.status == auth_status::unavailable);
        CHECK(v.cache_until == 0);
        CHECK(v.decision.message.find("not a JSON object") != std::string::npos);
    }
}

TEST_CASE("a 200 object must grant the authority", "[uaa]") {
    CHECK(
        read(200, granted(now + 600, R"("scope":["bosh.system_metrics.read"])")).decision.status ==
        auth_status::ok);
    CHECK(read(200, granted(now + 600, R"("authorities":["bosh.system_metrics.read"])"))
              .decision.status == auth_status::ok);
    CHECK(read(200, granted(now + 600, R"("scope":"openid bosh.system_metrics.read")"))
              .decision.status == auth_status::ok);
    for (const char* grants :
         {R"("scope":[])", R"("scope":["bosh.system_metrics.read.extra"])",
          R"("scope":"bosh.system_metrics.readx")", R"("scope":7)",
          R"("scope":[{"bosh.system_metrics.read":true}])", R"("client_id":"x")"}) {
        INFO(grants);
        const token_verdict v = read(200, granted(now + 600, grants));
        CHECK(v.decision.status == auth_status::forbidden);
        CHECK(v.cache_until == now + 60);
    }
    CHECK(read(200, "{}").decision.status == auth_status::unavailable);  // no exp
}

TEST_CASE("a 200 object must carry an integer exp in the future", "[uaa]") {
    const std::string grants = R"("scope":["bosh.system_metrics.read"])";
    CHECK(read(200, R"({"scope":["bosh.system_metrics.read"]})").decision.status ==
          auth_status::unavailable);
    CHECK(read(200, R"({"exp":"soon","scope":["bosh.system_metrics.read"]})").decision.status ==
          auth_status::unavailable);
    CHECK(read(200, R"({"exp":1e400,"scope":["bosh.system_metrics.read"]})").decision.status ==
          auth_status::unavailable);
    const token_verdict expired = read(200, granted(now - 1, grants));
    CHECK(expired.decision.status == auth_status::unauthenticated);
    CHECK(expired.cache_until == now + 60);
}

TEST_CASE("an accepted token is remembered until exp, at most the longest cache time", "[uaa]") {
    const std::string grants = R"("scope":["bosh.system_metrics.read"])";
    CHECK(read(200, granted(now + 100, grants)).cache_until == now + 100);
    CHECK(read(200, granted(now + 86'400 * 365, grants)).cache_until == now + 300);
}

TEST_CASE("400 with an OAuth error is a definite refusal, without one, UAA misbehaves", "[uaa]") {
    const token_verdict scope = read(400, R"({"error":"invalid_scope"})");
    CHECK(scope.decision.status == auth_status::forbidden);
    CHECK(scope.cache_until == now + 60);
    const token_verdict invalid =
        read(400, R"({"error":"invalid_token","error_description":"Token has expired"})");
    CHECK(invalid.decision.status == auth_status::unauthenticated);
    CHECK(invalid.decision.message == "invalid token (invalid_token)");
    // UAA's own words reach the client only as short printable text.
    const token_verdict odd =
        read(400, "{\"error\":\"a\\nb\\u0000" + std::string(200, 'x') + "\"}");
    CHECK(odd.decision.message.size() < 100);
    CHECK(odd.decision.message.find('\n') == std::string::npos);
    for (const char* body : {"", "Bad Request", R"({"error":7})", R"({"message":"no"})"}) {
        INFO(body);
        const token_verdict v = read(400, body);
        CHECK(v.decision.status == auth_status::unavailable);
        CHECK(v.cache_until == 0);
    }
}

TEST_CASE("other statuses say nothing about the token", "[uaa]") {
    const std::string ok_body = granted(now + 600, R"("scope":["bosh.system_metrics.read"])");
    for (const unsigned status : {201u, 204u, 301u, 401u, 403u, 404u, 500u, 502u, 999u}) {
        INFO(status);
        const token_verdict v = read(status, ok_body);
        CHECK(v.decision.status == auth_status::unavailable);
        CHECK(v.cache_until == 0);
    }
    CHECK(read(401, "").decision.message.find("client credentials") != std::string::npos);
}
