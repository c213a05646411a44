// The proxy's connection observer: identities decided at ready, and the counters and logs of
// pushes, failures and closes.
#include "client_observer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "app_identity.hpp"
#include "client_identity.hpp"
#include "client_registry.hpp"
#include "identity_outcomes.hpp"
#include "proxy_metrics.hpp"
#include "pull.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

client_observer::client_observer(client_registry& registry, client_pull& pull,
                                 identity_outcomes& identities, proxy_counters& counters,
                                 original_metrics& original, core::logger& log,
                                 const push::binding_directory* bindings,
                                 bool trust_declared_app_identity)
    : registry_(registry),
      pull_(pull),
      identities_(identities),
      counters_(counters),
      original_(original),
      log_(log),
      bindings_(bindings),
      trust_declared_app_identity_(trust_declared_app_identity) {}

void client_observer::connection_ready(const std::shared_ptr<connection>& c) {
    identity_proof proof = proof_in_setup(c->setup_data(), c->setup_metadata());
    if (proof.what == identity_proof::kind::none) {
        proof = proof_in_authorization(c->authorization());
    }
    std::optional<push::push_binding> binding;
    if (proof.what == identity_proof::kind::key && bindings_ != nullptr) {
        binding = bindings_->find_by_access_key(proof.access_key);
    }
    std::string declared;
    if (trust_declared_app_identity_) {
        declared = app_guid_in_setup(c->setup_data());
        if (declared.empty()) {
            declared = app_guid_in_setup(c->setup_metadata());
        }
    }
    identity_decision decision = decide_identity(proof, std::move(binding),
                                                 trust_declared_app_identity_, std::move(declared));
    std::optional<client_app> app;
    if (decision.result == identity_result::key) {
        app = client_app{.guid = decision.app_guid,
                         .how = client_app::grounds::key,
                         .access_key = std::move(proof.access_key),
                         .binding_labels = std::move(decision.binding->labels)};
    } else if (decision.result == identity_result::declared) {
        app = client_app{.guid = decision.app_guid,
                         .how = client_app::grounds::declared_setup,
                         .access_key = {},
                         .binding_labels = {}};
    }
    registry_.ready(c, std::move(app), decision.learn_from_labels);
    if (decision.learn_from_labels) {
        // Counted once its labels are known (declared, or anonymous after all).
        asio::co_spawn(c->strand(), pull_.learn_app(c), asio::detached);
    } else {
        identities_.record(*c, to_string(decision.result));
    }
}

void client_observer::connection_pushed(connection& c, bool ok, std::string_view reason) {
    // "memory": its text would not fit the budgets; anything else: it did not decrypt.
    const bool refused = !ok && reason == to_string(scrape_outcome::memory);
    counters_.pushes.Add({{"outcome", ok ? "held" : refused ? "refused" : "invalid"}}).Increment();
    if (!ok) {
        log_.debug("rsocket push not decryptable", {{"connection", c.id()}, {"error", reason}});
    }
}

void client_observer::connection_failed(connection& c, std::string_view reason) {
    counters_.connection_errors.Add({{"reason", std::string(reason)}}).Increment();
    original_.connection_errors
        .Add({{"exception", std::string(reason)}, {"transport", std::string(c.transport_name())}})
        .Increment();
    log_.debug("rsocket connection failed", {{"connection", c.id()}, {"reason", reason}});
}

void client_observer::connection_closed(connection& c, std::optional<leased_text> push) {
    registry_.closed(c.id(), std::move(push), clock::now());
}

}  // namespace mgw::rsocket
