// Unit tests: the one UUID check (google/uuid Parse's forms) and the canonical spelling every
// module compares app GUIDs in.
#include <catch2/catch.hpp>

#include <mgw/text/uuid.hpp>

using mgw::text::canonical_uuid;
using mgw::text::is_uuid;
using mgw::text::same_uuid;

namespace {
constexpr const char* canonical = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
}

TEST_CASE("is_uuid accepts the forms of google/uuid Parse") {
    CHECK(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15"));
    CHECK(is_uuid("{a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15}"));
    CHECK(is_uuid("urn:uuid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("URN:UUID:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(is_uuid("a758f25d2a3b4c5d8e9fde3aabcd9e15"));
    CHECK_FALSE(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e1"));
    CHECK_FALSE(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e1g"));
    CHECK_FALSE(is_uuid("a758f25d_2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK_FALSE(is_uuid("(a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15)"));
    CHECK_FALSE(is_uuid("{a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15)"));
    CHECK_FALSE(is_uuid("urn:uid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK_FALSE(is_uuid("a758f25d2a3b4c5d8e9fde3aabcd9e1g"));
    CHECK_FALSE(is_uuid("{a758f25d2a3b4c5d8e9fde3aabcd9e15}"));
    CHECK_FALSE(is_uuid("my-app.example.com"));
    CHECK_FALSE(is_uuid(""));
    static_assert(is_uuid("a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
}

TEST_CASE("canonical_uuid spells every form lower case with dashes") {
    for (const char* form :
         {"a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15", "A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15",
          "{a758f25d-2a3b-4c5d-8e9f-DE3AABCD9E15}", "urn:uuid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15",
          "URN:UUID:A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15", "a758f25d2a3b4c5d8e9fde3aabcd9e15",
          "A758F25D2A3B4C5D8E9FDE3AABCD9E15"}) {
        INFO(form);
        CHECK(canonical_uuid(form) == std::optional<std::string>(canonical));
    }
    CHECK_FALSE(canonical_uuid("org/space/app"));
    CHECK_FALSE(canonical_uuid("a758f25d-2a3b-4c5d-8e9f"));
}

TEST_CASE("same_uuid compares canonical forms, other identifiers case-insensitively") {
    CHECK(same_uuid("{A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15}", canonical));
    CHECK(same_uuid("a758f25d2a3b4c5d8e9fde3aabcd9e15", "urn:uuid:" + std::string(canonical)));
    CHECK_FALSE(same_uuid(canonical, "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"));
    CHECK(same_uuid("My-App", "my-app"));
    CHECK_FALSE(same_uuid("a758f25d2a3b4c5d8e9fde3aabcd9e15x", canonical));
}
