// UAA answers check_token with 200 and the token's claims, or 400 and an OAuth error. Anything
// else, including a 200 whose body is not such an object (a proxy's HTML page, an empty body),
// says nothing about the token: the client gets 503 and the verdict is not cached.
#include "uaa_answer.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "token_claims.hpp"

namespace mgw::bosh {

namespace json = boost::json;

namespace {

token_verdict unavailable(std::string why) {
    return {{auth_status::unavailable, "cannot validate the token: " + std::move(why)}, 0};
}

}  // namespace

std::string sanitized_peer_text(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 64)) {
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? c : '?';
    }
    return out;
}

token_verdict read_check_token_answer(unsigned status, std::string_view body,
                                      const check_token_context& context) {
    const std::int64_t negative_until = context.now_unix + context.negative_ttl_seconds;
    boost::system::error_code ec;
    const json::value doc = json::parse(json::string_view(body.data(), body.size()), ec);
    const json::object* answer = !ec && doc.is_object() ? &doc.get_object() : nullptr;

    if (status == 200) {
        if (answer == nullptr) {
            return unavailable("UAA answered check_token with 200 but not a JSON object");
        }
        const auto exp = answer->find("exp");
        const auto expires_at =
            exp == answer->end() ? std::nullopt : claims::numeric_date(exp->value());
        if (!expires_at) {
            return unavailable("UAA's check_token answer has no integer exp");
        }
        if (*expires_at <= context.now_unix) {
            return {{auth_status::unauthenticated, "invalid token (expired)"}, negative_until};
        }
        if (!claims::grants(*answer, "scope", context.authority) &&
            !claims::grants(*answer, "authorities", context.authority)) {
            return {{auth_status::forbidden,
                     "token lacks the " + std::string(context.authority) + " authority"},
                    negative_until};
        }
        const std::int64_t longest = context.now_unix + context.max_positive_ttl_seconds;
        return {{auth_status::ok, {}}, std::min(*expires_at, longest)};
    }
    if (status == 400) {
        const std::string error =
            answer == nullptr ? std::string() : claims::string_field(*answer, "error");
        if (error.empty()) {
            return unavailable("UAA answered check_token with 400 but no OAuth error");
        }
        if (error == "invalid_scope" || error == "insufficient_scope") {
            return {{auth_status::forbidden,
                     "token lacks the " + std::string(context.authority) + " authority"},
                    negative_until};
        }
        return {
            {auth_status::unauthenticated, "invalid token (" + sanitized_peer_text(error) + ")"},
            negative_until};
    }
    if (status == 401 || status == 403) {
        return unavailable("UAA rejected the gateway's client credentials (status " +
                           std::to_string(status) + ")");
    }
    return unavailable("UAA answered status " + std::to_string(status));
}

}  // namespace mgw::bosh
