// Unit tests: the apps list a peer sends for /v1/sd, encoded and read back, and the lists that
// must not be read (a source name that is no name, an app without a GUID, a wrong shape).
#include "cluster/app_list.hpp"

#include <catch2/catch.hpp>

using namespace mgw;
using namespace mgw::cluster;

TEST_CASE("an apps list reads back as the directories it was made of") {
    const std::vector<apps::directory_listing> directories{
        {.name = "push",
         .apps = {{.app_guid = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15",
                   .labels = {{"app_name", "shop \"eu\""}, {"organization_name", "acme"}}}}},
        {.name = "rsocket",
         .apps = {{.app_guid = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15", .labels = {}},
                  {.app_guid = "c758f25d-2a3b-4c5d-8e9f-de3aabcd9e15", .labels = {}}}},
    };
    const auto back = decode_app_list(encode_app_list(directories));
    REQUIRE(back);
    REQUIRE(back->size() == 2);
    CHECK((*back)[0].name == "push");
    REQUIRE((*back)[0].apps.size() == 1);
    CHECK((*back)[0].apps[0].app_guid == directories[0].apps[0].app_guid);
    CHECK((*back)[0].apps[0].labels == directories[0].apps[0].labels);
    CHECK((*back)[1].name == "rsocket");
    REQUIRE((*back)[1].apps.size() == 2);
    CHECK((*back)[1].apps[1].app_guid == "c758f25d-2a3b-4c5d-8e9f-de3aabcd9e15");
    CHECK((*back)[1].apps[1].labels.empty());

    const auto none = decode_app_list(encode_app_list({}));
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("an apps list that is not one is refused whole") {
    CHECK_FALSE(decode_app_list(""));
    CHECK_FALSE(decode_app_list("[]"));
    CHECK_FALSE(decode_app_list(R"({"directories":{}})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[7]})"));
    // A source name ends up in __meta_cf_sources: only [a-z0-9_-], 1..32 bytes.
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"","apps":[]}]})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"a,b","apps":[]}]})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"Push","apps":[]}]})"));
    CHECK_FALSE(decode_app_list(
        R"({"directories":[{"name":"abcdefghijklmnopqrstuvwxyz0123456","apps":[]}]})"));
    CHECK(decode_app_list(
        R"({"directories":[{"name":"abcdefghijklmnopqrstuvwxyz012345","apps":[]}]})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"push"}]})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"push","apps":[{}]}]})"));
    CHECK_FALSE(decode_app_list(R"({"directories":[{"name":"push","apps":[{"app_guid":""}]}]})"));
    CHECK_FALSE(decode_app_list(
        R"({"directories":[{"name":"push","apps":[{"app_guid":"g","labels":[]}]}]})"));
    CHECK_FALSE(decode_app_list(
        R"({"directories":[{"name":"push","apps":[{"app_guid":"g","labels":{"a":1}}]}]})"));
    const auto minimal =
        decode_app_list(R"({"directories":[{"name":"push","apps":[{"app_guid":"g"}]}]})");
    REQUIRE(minimal);
    CHECK((*minimal)[0].apps[0].app_guid == "g");
}
