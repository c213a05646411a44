// RSocket module (internal): how a connected client earns a place in an app's answer. A client
// proves its app with an access key the service broker issued for it (a `metrics-forwarder`
// binding), carried in its SETUP payload or, on WebSocket, in the upgrade's Authorization
// header; what it merely declares (a GUID in its SETUP, labels in its metrics) is believed only
// when the operator opted in. Pure: the key lookup's answer is passed in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <mgw/push/binding_directory.hpp>

namespace mgw::rsocket {

// What a client presented about its app.
struct identity_proof {
    enum class kind : std::uint8_t {
        none,       // nothing that claims to be a proof
        key,        // an access key (and maybe the app it is for)
        malformed,  // a JSON object meant as a proof but not one (a non-string access_key, ...)
    };
    kind what = kind::none;
    std::string access_key;
    std::string app_id;  // optional, next to the key: must then be the key's app
};

// The largest SETUP payload read for a proof; a proof is a few hundred bytes.
inline constexpr std::size_t max_proof_bytes = 4096;

// SETUP data, else SETUP metadata: a JSON object with `"access_key": "<key>"` and optionally
// `"app_id": "<guid>"`. Payloads that are not JSON objects (a bare GUID, nothing) are `none`.
identity_proof proof_in_setup(std::string_view data, std::string_view metadata);
// The WebSocket upgrade's Authorization header: `Bearer <key>` or the raw key, as the Metrics
// Forwarder API accepts it.
identity_proof proof_in_authorization(std::string_view header_value);

// The outcome for one client; the `result` label of mgw_rsocket_identity_total.
enum class identity_result : std::uint8_t {
    key,          // joined its app with a valid key
    declared,     // joined the app it names, believed by the operator's opt-in
    anonymous,    // no proof: served on /metrics/connected only
    unknown_key,  // a key the broker does not know (never issued, or revoked): not joined
    wrong_app,    // a valid key for another app than the one named next to it: not joined
    malformed,    // a proof that does not parse: not joined
    revoked,      // a joined client whose binding went away: left its app
};

inline constexpr std::array all_identity_results = {
    identity_result::key,         identity_result::declared,  identity_result::anonymous,
    identity_result::unknown_key, identity_result::wrong_app, identity_result::malformed,
    identity_result::revoked};

std::string_view to_string(identity_result result);

struct identity_decision {
    identity_result result = identity_result::anonymous;
    std::string app_guid;  // the app joined (key, declared); empty otherwise
    // key: the binding's labels (organization_name, space_name, ...) for the app's answer.
    std::optional<push::push_binding> binding;
    // declared without a GUID in the SETUP: the client's labels may still name its app.
    bool learn_from_labels = false;
};

// `binding` is the broker's answer for proof.access_key (nullopt: unknown or revoked);
// `declared_guid` what the SETUP payload names (app_guid_in_setup), used only when `trusted`.
identity_decision decide_identity(const identity_proof& proof,
                                  std::optional<push::push_binding> binding, bool trusted,
                                  std::string declared_guid);

}  // namespace mgw::rsocket
