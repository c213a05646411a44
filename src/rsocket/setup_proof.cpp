// The identity proof in a SETUP payload: a small JSON object, read with a stack-bounded
// allocator. Client input: fuzzed by test/fuzz/fuzz_rsocket_setup_proof.cpp.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <mgw/text/ascii.hpp>

#include "client_identity.hpp"

namespace mgw::rsocket {

namespace {

identity_proof proof_in_json(std::string_view payload) {
    const std::string_view text = text::trim_whitespace(payload);
    if (text.empty() || text.front() != '{') {
        return {};
    }
    if (text.size() > max_proof_bytes) {
        return {.what = identity_proof::kind::malformed, .access_key = {}, .app_id = {}};
    }
    unsigned char scratch[max_proof_bytes * 2];
    boost::json::monotonic_resource resource(scratch, sizeof scratch);
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(text, ec, &resource);
    if (ec || !value.is_object()) {
        return {};  // not JSON after all: maybe a declared GUID in another shape
    }
    const boost::json::object& object = value.get_object();
    const auto* key = object.if_contains("access_key");
    if (key == nullptr) {
        return {};
    }
    identity_proof proof{.what = identity_proof::kind::malformed, .access_key = {}, .app_id = {}};
    if (!key->is_string() || key->get_string().empty()) {
        return proof;
    }
    if (const auto* app = object.if_contains("app_id"); app != nullptr) {
        if (!app->is_string()) {
            return proof;
        }
        proof.app_id = app->get_string();
    }
    proof.what = identity_proof::kind::key;
    proof.access_key = key->get_string();
    return proof;
}

}  // namespace

identity_proof proof_in_setup(std::string_view data, std::string_view metadata) {
    identity_proof proof = proof_in_json(data);
    if (proof.what == identity_proof::kind::none) {
        proof = proof_in_json(metadata);
    }
    return proof;
}

}  // namespace mgw::rsocket
