// BOSH module: who may read the event stream. Validates `Authorization: bearer <token>` with
// UAA's /check_token or locally as an RS256 JWT (keys from /token_keys); results are cached.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <mgw/bosh/auth_decision.hpp>
#include <mgw/core/log.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::bosh {

enum class auth_mode {
    check_token,  // POST <uaa>/check_token with the gateway's client credentials (the original)
    jwt,          // verify the signature locally with the keys of GET <uaa>/token_keys
};

struct token_validator_options {
    auth_mode mode = auth_mode::check_token;
    // e.g. https://uaa.service.cf.internal:8443. Empty: every token is refused (403).
    std::string uaa_url;
    std::string client_id;
    std::string client_secret;
    std::string ca_file;  // extra trust for UAA's certificate; system roots otherwise
    std::string authority = "bosh.system_metrics.read";
    // jwt mode: the `iss` every token must carry. Empty: <uaa_url>/oauth/token, what UAA
    // writes unless its issuer.uri says otherwise. (Tokens of other UAA identity zones are
    // signed with the same keys; their issuer differs.)
    std::string issuer;
    std::chrono::milliseconds uaa_timeout{std::chrono::seconds(10)};
    // How long a rejected token's verdict is cached; an accepted one until its exp, at most
    // max_cache_ttl (so a revoked token stops working within that time).
    std::chrono::seconds negative_cache_ttl{60};
    std::chrono::seconds max_cache_ttl{300};
    // Accepted and rejected tokens are cached apart, each up to this many: a flood of made-up
    // tokens cannot evict the verdicts of real clients.
    std::size_t cache_entries = 10'000;
    // Requests to UAA in flight at once; a token that would need one more gets 503 at once
    // (not cached), so that unauthenticated clients cannot pile up work on UAA through us.
    std::size_t max_uaa_requests = 32;
    // /token_keys is fetched again for an unknown kid at most this often.
    std::chrono::seconds keys_refresh_interval{5};
};

// Throws std::invalid_argument when uaa_url is not an http(s) URL (startup misconfiguration).
class token_validator {
  public:
    token_validator(boost::asio::any_io_executor executor, token_validator_options options,
                    core::logger& log, prometheus::Registry& registry);
    ~token_validator();
    token_validator(const token_validator&) = delete;
    token_validator& operator=(const token_validator&) = delete;

    // `authorization`: the Authorization field's (or gRPC metadata's) value, empty when
    // absent: "bearer <token>" in any case, or the bare token as the original clients send
    // it. A token that is not an RFC 6750 b64token is refused without asking UAA.
    // Thread-safe.
    boost::asio::awaitable<auth_decision> validate(std::string_view authorization);

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::bosh
