// Unit tests: what a client presents as proof of its app (SETUP JSON, WebSocket Authorization),
// and what it may join: a valid key joins the key's app, a declaration only when trusted.
#include "client_identity.hpp"

#include <catch2/catch.hpp>

using namespace mgw::rsocket;
using kind = identity_proof::kind;

namespace {

constexpr const char* app = "2f1e0d9c-8b7a-4654-a321-0fedcba98765";
constexpr const char* other_app = "6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11";

mgw::push::push_binding binding_for(const char* guid) {
    mgw::push::push_binding binding;
    binding.binding_id = "b-1";
    binding.app_guid = guid;
    binding.labels = {{"organization_name", "demo-org"}};
    return binding;
}

}  // namespace

TEST_CASE("a key in the SETUP data or metadata is a proof") {
    identity_proof proof = proof_in_setup(R"({"access_key":"k-1"})", "");
    CHECK(proof.what == kind::key);
    CHECK(proof.access_key == "k-1");
    CHECK(proof.app_id.empty());

    proof = proof_in_setup("", std::string(R"( {"access_key": "k-2", "app_id": ")") + app + "\"}");
    CHECK(proof.what == kind::key);
    CHECK(proof.access_key == "k-2");
    CHECK(proof.app_id == app);

    // Data first; unknown fields are ignored.
    proof = proof_in_setup(R"({"access_key":"from-data","v":1})", R"({"access_key":"from-meta"})");
    CHECK(proof.access_key == "from-data");
}

TEST_CASE("payloads that are not a key proof") {
    CHECK(proof_in_setup("", "").what == kind::none);
    CHECK(proof_in_setup(app, "application/binary").what == kind::none);  // a declared GUID
    CHECK(proof_in_setup(std::string(R"({"app_id":")") + app + "\"}", "").what == kind::none);
    CHECK(proof_in_setup("{not json", "").what == kind::none);
    CHECK(proof_in_setup(R"(["access_key"])", "").what == kind::none);
}

TEST_CASE("a proof that is meant as one but is not well formed") {
    CHECK(proof_in_setup(R"({"access_key":42})", "").what == kind::malformed);
    CHECK(proof_in_setup(R"({"access_key":""})", "").what == kind::malformed);
    CHECK(proof_in_setup(R"({"access_key":"k","app_id":7})", "").what == kind::malformed);
    const std::string huge = R"({"access_key":")" + std::string(max_proof_bytes, 'k') + "\"}";
    CHECK(proof_in_setup(huge, "").what == kind::malformed);
}

TEST_CASE("the WebSocket Authorization header carries a key as push accepts it") {
    CHECK(proof_in_authorization("Bearer k-1").access_key == "k-1");
    CHECK(proof_in_authorization("bearer  k-1 ").access_key == "k-1");
    CHECK(proof_in_authorization("k-raw").access_key == "k-raw");
    CHECK(proof_in_authorization("").what == kind::none);
    CHECK(proof_in_authorization("  ").what == kind::none);
    // Read exactly as POST /v1/metrics reads it: a key "Bearer", which no binding has.
    CHECK(proof_in_authorization("Bearer ").access_key == "Bearer");
}

TEST_CASE("a valid key joins the key's app, whatever else the client says") {
    identity_proof proof{.what = kind::key, .access_key = "k", .app_id = {}};
    identity_decision decision = decide_identity(proof, binding_for(app), false, other_app);
    CHECK(decision.result == identity_result::key);
    CHECK(decision.app_guid == app);
    REQUIRE(decision.binding);
    CHECK(decision.binding->labels.at("organization_name") == "demo-org");

    proof.app_id = "2F1E0D9C-8B7A-4654-A321-0FEDCBA98765";  // the same app, another case
    CHECK(decide_identity(proof, binding_for(app), false, {}).result == identity_result::key);
}

TEST_CASE("a key that is unknown, or for another app, joins nothing even when trusted") {
    identity_proof proof{.what = kind::key, .access_key = "k", .app_id = app};
    identity_decision decision = decide_identity(proof, std::nullopt, true, app);
    CHECK(decision.result == identity_result::unknown_key);
    CHECK(decision.app_guid.empty());

    decision = decide_identity(proof, binding_for(other_app), true, app);
    CHECK(decision.result == identity_result::wrong_app);
    CHECK(decision.app_guid.empty());

    decision = decide_identity({.what = kind::malformed, .access_key = {}, .app_id = {}},
                               std::nullopt, true, app);
    CHECK(decision.result == identity_result::malformed);
    CHECK(decision.app_guid.empty());
    CHECK_FALSE(decision.learn_from_labels);
}

TEST_CASE("a declared app is believed only with the operator's opt-in") {
    const identity_proof none;
    identity_decision decision = decide_identity(none, std::nullopt, false, app);
    CHECK(decision.result == identity_result::anonymous);
    CHECK(decision.app_guid.empty());
    CHECK_FALSE(decision.learn_from_labels);

    decision = decide_identity(none, std::nullopt, true, app);
    CHECK(decision.result == identity_result::declared);
    CHECK(decision.app_guid == app);

    decision = decide_identity(none, std::nullopt, true, {});
    CHECK(decision.result == identity_result::anonymous);
    CHECK(decision.learn_from_labels);
}

TEST_CASE("every identity result has a fixed label value") {
    for (identity_result result : all_identity_results) {
        CHECK_FALSE(to_string(result).empty());
    }
}
