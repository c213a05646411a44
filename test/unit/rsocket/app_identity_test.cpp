// Unit tests: how a connected client is tied to an app, from its SETUP payload or its labels.
#include "app_identity.hpp"

#include <catch2/catch.hpp>

using namespace mgw::rsocket;

namespace {
constexpr const char* guid = "6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11";
}

TEST_CASE("a SETUP payload names its app by GUID or JSON field") {
    CHECK(app_guid_in_setup(guid) == guid);
    CHECK(app_guid_in_setup(std::string(" ") + guid + "\n") == guid);
    CHECK(app_guid_in_setup(std::string(R"({"app_id":")") + guid + "\"}") == guid);
    CHECK(app_guid_in_setup(std::string(R"({"application_id": ")") + guid + "\"}") == guid);
    CHECK(app_guid_in_setup(std::string(R"({"applicationId":")") + guid + "\"}") == guid);
    CHECK(app_guid_in_setup("").empty());
    CHECK(app_guid_in_setup("application/binary").empty());
    CHECK(app_guid_in_setup(R"({"app_id":"not-a-guid"})").empty());
    CHECK(app_guid_in_setup(std::string(R"({"xapp_id":")") + guid + "\"}").empty());
}

TEST_CASE("metrics name their app by the app_id or application_id label") {
    CHECK(app_guid_in_labels(std::string("up{app_id=\"") + guid + "\"} 1\n") == guid);
    CHECK(app_guid_in_labels(std::string("up{a=\"b\",application_id=\"") + guid + "\"} 1\n") ==
          guid);
    CHECK(app_guid_in_labels(std::string("up{source_app_id=\"") + guid + "\"} 1\n").empty());
    CHECK(app_guid_in_labels("up{app_id=\"shop\"} 1\n").empty());
    CHECK(app_guid_in_labels("up 1\n").empty());
}

TEST_CASE("a client's app GUID is kept in the canonical spelling whatever form it gave") {
    CHECK(app_guid_in_setup("{6F0BC0AE-6F6C-4D4C-9B2A-0F5B0C6C1A11}") == guid);
    CHECK(app_guid_in_setup("urn:uuid:6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11") == guid);
    CHECK(app_guid_in_setup("6f0bc0ae6f6c4d4c9b2a0f5b0c6c1a11") == guid);
    CHECK(app_guid_in_labels("up{app_id=\"6F0BC0AE-6F6C-4D4C-9B2A-0F5B0C6C1A11\"} 1\n") == guid);
}
