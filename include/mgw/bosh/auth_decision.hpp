// BOSH module: the verdict on a client's UAA token, shared by every way to check it (UAA's
// /check_token, local JWT verification) and every transport that asks (HTTP, gRPC).
#pragma once

#include <string>
#include <string_view>

namespace mgw::bosh {

enum class auth_status {
    ok,
    unauthenticated,  // 401 (gRPC 7): no token, malformed, bad signature, expired, unknown to UAA
    forbidden,        // 403 (gRPC 7): a valid token without the required authority
    unavailable,      // 503 (gRPC 14): UAA unreachable, misbehaving, or refusing the gateway
};

std::string_view to_string(auth_status status);

struct auth_decision {
    auth_status status = auth_status::unauthenticated;
    std::string message;  // for the client: says why, never echoes the token
};

}  // namespace mgw::bosh
