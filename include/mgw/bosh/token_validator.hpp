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

#include <mgw/core/log.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::bosh {

enum class auth_mode {
    check_token,  // POST <uaa>/check_token with the gateway's client credentials (the original)
    jwt,          // verify the signature locally with the keys of GET <uaa>/token_keys
};

enum class auth_status {
    ok,
    unauthenticated,  // 401: no token, malformed, bad signature, expired, unknown to UAA
    forbidden,        // 403: valid token without bosh.system_metrics.read
    unavailable,      // 503: UAA unreachable or refusing the gateway itself
};

std::string_view to_string(auth_status status);

struct auth_decision {
    auth_status status = auth_status::unauthenticated;
    std::string message;  // for the response body
};

struct token_validator_options {
    auth_mode mode = auth_mode::check_token;
    std::string uaa_url;  // e.g. https://uaa.service.cf.internal:8443
    std::string client_id;
    std::string client_secret;
    std::string ca_file;  // extra trust for UAA's certificate; system roots otherwise
    std::string authority = "bosh.system_metrics.read";
    std::chrono::milliseconds uaa_timeout{std::chrono::seconds(10)};
    // How long a rejected token's verdict is cached (accepted ones: until their exp).
    std::chrono::seconds negative_cache_ttl{60};
    std::size_t cache_entries = 10'000;
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

    // `authorization`: the Authorization field's value, empty when absent. Thread-safe.
    boost::asio::awaitable<auth_decision> validate(std::string_view authorization);

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::bosh
