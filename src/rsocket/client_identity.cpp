// Reading identity proofs and deciding what a client may join.
#include "client_identity.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <mgw/push/push_service.hpp>
#include <mgw/text/ascii.hpp>

namespace mgw::rsocket {

identity_proof proof_in_authorization(std::string_view header_value) {
    const std::string_view key = push::access_key_of(header_value);
    if (key.empty()) {
        return {};
    }
    return {.what = identity_proof::kind::key, .access_key = std::string(key), .app_id = {}};
}

std::string_view to_string(identity_result result) {
    switch (result) {
        case identity_result::key:
            return "key";
        case identity_result::declared:
            return "declared";
        case identity_result::anonymous:
            return "anonymous";
        case identity_result::unknown_key:
            return "unknown_key";
        case identity_result::wrong_app:
            return "wrong_app";
        case identity_result::malformed:
            return "malformed";
        case identity_result::revoked:
            return "revoked";
    }
    return "anonymous";
}

identity_decision decide_identity(const identity_proof& proof,
                                  std::optional<push::push_binding> binding, bool trusted,
                                  std::string declared_guid) {
    identity_decision decision;
    switch (proof.what) {
        case identity_proof::kind::key:
            if (!binding) {
                decision.result = identity_result::unknown_key;
            } else if (!proof.app_id.empty() && !text::iequals(proof.app_id, binding->app_guid)) {
                decision.result = identity_result::wrong_app;
            } else {
                decision.result = identity_result::key;
                decision.app_guid = binding->app_guid;
                decision.binding = std::move(binding);
            }
            return decision;
        case identity_proof::kind::malformed:
            // A client that tried to prove something and failed is not believed on its word
            // either, even where declarations are trusted.
            decision.result = identity_result::malformed;
            return decision;
        case identity_proof::kind::none:
            break;
    }
    if (!trusted) {
        return decision;  // anonymous
    }
    if (!declared_guid.empty()) {
        decision.result = identity_result::declared;
        decision.app_guid = std::move(declared_guid);
    } else {
        decision.learn_from_labels = true;
    }
    return decision;
}

}  // namespace mgw::rsocket
