// BOSH module: what an answer of UAA's POST /check_token means for the token it was asked
// about. Pure, so that every status and body shape is tested and fuzzed: anything but a JSON
// object that grants the authority and has not expired is a refusal, never a pass.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <mgw/bosh/auth_decision.hpp>

namespace mgw::bosh {

struct check_token_context {
    std::string_view authority;  // e.g. bosh.system_metrics.read
    std::int64_t now_unix = 0;
    std::int64_t negative_ttl_seconds = 60;       // how long a definite refusal is remembered
    std::int64_t max_positive_ttl_seconds = 300;  // an acceptance: until exp, at most this
};

struct token_verdict {
    auth_decision decision;
    // Unix seconds until which the verdict may be reused; 0 when it must not be (UAA itself
    // failed or misbehaved: the next request asks again).
    std::int64_t cache_until = 0;
};

token_verdict read_check_token_answer(unsigned status, std::string_view body,
                                      const check_token_context& context);

// Text that UAA (or whatever answers in its place) chose, as it may appear in a message to a
// client or in a cached verdict: printable ASCII only, at most 64 bytes.
std::string sanitized_peer_text(std::string_view text);

}  // namespace mgw::bosh
