// RSocket module (internal): what becomes of each identity a client presents, counted (the
// `result` of mgw_rsocket_identity_total) and, when refused, logged rate-limited. Its own class
// because three parts decide identities: the connection observer (at SETUP), the pull (an app
// learnt from a trusted client's labels) and the app source (a key revoked since).
#pragma once

#include <chrono>
#include <string_view>

#include <mgw/core/log.hpp>
#include <mgw/core/log_throttle.hpp>
#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

struct proxy_counters;

class identity_outcomes {
  public:
    identity_outcomes(proxy_counters& counters, core::logger& log);

    // Counts an identity outcome of `c` (to_string of an identity_result); refusals are also
    // logged (rate-limited). Thread-safe.
    void record(const connection& c, std::string_view result);

  private:
    proxy_counters& counters_;
    core::logger& log_;
    // Refused identity proofs repeat on every reconnect of a misconfigured client.
    core::log_throttle identity_log_{std::chrono::seconds(10)};
};

}  // namespace mgw::rsocket
