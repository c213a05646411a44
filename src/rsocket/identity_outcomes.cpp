// The identity outcomes of clients: one counter per result, and a throttled warning for those
// that keep a client out of its app.
#include "identity_outcomes.hpp"

#include "proxy_metrics.hpp"

namespace mgw::rsocket {

identity_outcomes::identity_outcomes(proxy_counters& counters, core::logger& log)
    : counters_(counters), log_(log) {}

void identity_outcomes::record(const connection& c, std::string_view result) {
    counters_.identities.Add({{"result", std::string(result)}}).Increment();
    if (result != "unknown_key" && result != "wrong_app" && result != "malformed" &&
        result != "revoked") {
        return;
    }
    if (const auto occurrences = identity_log_.admit()) {
        // Never the key itself: the log is not where secrets go.
        log_.warn("rsocket client identity refused",
                  {{"connection", c.id()},
                   {"transport", c.transport_name()},
                   {"result", result},
                   {"consequence", result == "revoked" ? "left its app" : "not joined to an app"},
                   {"occurrences", *occurrences}});
    }
}

}  // namespace mgw::rsocket
