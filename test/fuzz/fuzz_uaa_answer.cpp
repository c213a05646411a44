// libFuzzer target: UAA's answers as the gateway reads them. The first byte chooses what the
// rest is: an answer to POST /check_token (the second byte picks its status) or a
// /token_keys document. Neither reading may crash, throw or leak; an answer may admit a client
// only when it is a 200 that grants the authority with a future exp, and whatever a peer wrote
// reaches a client as short printable text only.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bosh/jwt.hpp"
#include "bosh/uaa_answer.hpp"

namespace {

constexpr std::int64_t now = 1'800'000'000;
constexpr std::string_view authority = "bosh.system_metrics.read";
constexpr std::array<unsigned, 8> statuses{200, 400, 401, 403, 404, 500, 204, 302};

void read_check_token(unsigned status, std::string_view body) {
    mgw::bosh::check_token_context context;
    context.authority = authority;
    context.now_unix = now;
    context.negative_ttl_seconds = 60;
    context.max_positive_ttl_seconds = 300;
    const mgw::bosh::token_verdict v = mgw::bosh::read_check_token_answer(status, body, context);
    using mgw::bosh::auth_status;
    if (v.decision.status == auth_status::ok &&
        (status != 200 || body.find(authority) == std::string_view::npos || v.cache_until <= now ||
         v.cache_until > now + 300)) {
        std::abort();
    }
    if (v.decision.status == auth_status::unavailable && v.cache_until != 0) {
        std::abort();
    }
    if (v.decision.message.size() > 256) {
        std::abort();
    }
    for (const char c : v.decision.message) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (data[0] % 2 == 0) {
        read_check_token(statuses[data[1] % statuses.size()], rest);
    } else {
        mgw::bosh::jwk_set keys;
        std::string error;
        const bool parsed = keys.parse(rest, error);
        if (parsed != (keys.size() > 0) || (!parsed && error.empty())) {
            std::abort();
        }
    }
    return 0;
}
