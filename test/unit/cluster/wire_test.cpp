// Unit tests: the cluster's message codec round-trips and rejects what is not its messages.
#include "cluster/wire.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using namespace mgw::cluster;

TEST_CASE("heartbeats round-trip and malformed ones are refused") {
    const heartbeat hb{
        .node = "gw-1.example", .boot = "0011aabb", .interval = 500ms, .version = "1.2.3"};
    const auto back = decode_heartbeat(encode_heartbeat(hb));
    REQUIRE(back);
    CHECK(back->node == "gw-1.example");
    CHECK(back->boot == "0011aabb");
    CHECK(back->interval == 500ms);
    CHECK(back->version == "1.2.3");
    CHECK_FALSE(decode_heartbeat("not json"));
    CHECK_FALSE(decode_heartbeat("[]"));
    CHECK_FALSE(decode_heartbeat(R"({"node":"a","boot":"b"})"));
    CHECK_FALSE(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":0})"));
    CHECK_FALSE(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":-5})"));
    CHECK_FALSE(decode_heartbeat(R"({"node":"","boot":"b","interval_ms":1000})"));
    CHECK_FALSE(decode_heartbeat(R"({"node":1,"boot":"b","interval_ms":1000})"));
    CHECK(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":1000})"));
}

TEST_CASE("heartbeats say which requests their node answers") {
    heartbeat hb{.node = "a", .boot = "b", .interval = 1000ms, .version = "2"};
    CHECK(hb.answers == all_kinds);
    CHECK(decode_heartbeat(encode_heartbeat(hb))->answers == all_kinds);
    hb.answers = bit(request_kind::app) | bit(request_kind::proxy);
    const auto some = decode_heartbeat(encode_heartbeat(hb));
    REQUIRE(some);
    CHECK(some->answers == (bit(request_kind::app) | bit(request_kind::proxy)));
    // A node of a version before the list answers app and connected requests only.
    const auto older = decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":1000})");
    REQUIRE(older);
    CHECK(older->answers == (bit(request_kind::app) | bit(request_kind::connected)));
    // Kinds of a newer version are ignored; an empty list answers nothing.
    const auto newer = decode_heartbeat(
        R"({"node":"a","boot":"b","interval_ms":1000,"answers":["apps","history","app"]})");
    REQUIRE(newer);
    CHECK(newer->answers == (bit(request_kind::apps) | bit(request_kind::app)));
    CHECK(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":1000,"answers":[]})")->answers ==
          0);
    CHECK_FALSE(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":1000,"answers":"app"})"));
    CHECK_FALSE(decode_heartbeat(R"({"node":"a","boot":"b","interval_ms":1000,"answers":[1]})"));
    CHECK(request_kind_from("proxy") == request_kind::proxy);
    CHECK_FALSE(request_kind_from("Proxy"));
}

TEST_CASE("app requests round-trip with their tags and malformed ones are refused") {
    const app_request_message request{
        .request = "42",
        .from = "n1",
        .identifier = "acme/prod/api",
        .app_guid = "2f1e0d9c-8b7a-4654-a321-0fedcba98765",
        .tags = {{"app_name", "api"}, {"organization_name", "acme \"q\""}},
        .timeout = 1500ms};
    const auto back = decode_app_request(encode_app_request(request));
    REQUIRE(back);
    CHECK(back->request == "42");
    CHECK(back->from == "n1");
    CHECK(back->identifier == "acme/prod/api");
    CHECK(back->app_guid == request.app_guid);
    CHECK(back->tags == request.tags);
    CHECK(back->timeout == 1500ms);
    CHECK_FALSE(decode_app_request(R"({"request":"1","from":"n1","identifier":"x",
        "app_guid":"","timeout_ms":5})"));
    CHECK_FALSE(decode_app_request(R"({"request":"1","from":"n1","identifier":"x",
        "app_guid":"g","timeout_ms":5,"tags":{"a":1}})"));
    CHECK_FALSE(decode_app_request(R"({"request":"1","from":"n1","identifier":"x",
        "app_guid":"g","timeout_ms":5,"tags":[]})"));
    CHECK(decode_app_request(R"({"request":"1","from":"n1","identifier":"x",
        "app_guid":"g","timeout_ms":5})"));
    CHECK(back->kind == request_kind::app);
}

TEST_CASE("a connected request needs no app and an unknown kind is refused") {
    const app_request_message request{.kind = request_kind::connected,
                                      .request = "3",
                                      .from = "n2",
                                      .identifier = "",
                                      .app_guid = "",
                                      .tags = {},
                                      .timeout = 900ms};
    const auto back = decode_app_request(encode_app_request(request));
    REQUIRE(back);
    CHECK(back->kind == request_kind::connected);
    CHECK(back->app_guid.empty());
    CHECK(back->timeout == 900ms);
    CHECK_FALSE(decode_app_request(R"({"kind":"app","request":"1","from":"n1",
        "identifier":"","app_guid":"","timeout_ms":5})"));
    CHECK_FALSE(decode_app_request(R"({"kind":"everything","request":"1","from":"n1",
        "identifier":"","app_guid":"g","timeout_ms":5})"));
    CHECK_FALSE(decode_app_request(R"({"kind":7,"request":"1","from":"n1",
        "identifier":"","app_guid":"g","timeout_ms":5})"));
}

TEST_CASE("proxy and apps requests need no app and keep their kind") {
    for (const request_kind kind : {request_kind::proxy, request_kind::apps}) {
        const app_request_message request{.kind = kind,
                                          .request = "4",
                                          .from = "n3",
                                          .identifier = "",
                                          .app_guid = "",
                                          .tags = {},
                                          .timeout = 700ms};
        const std::string message = encode_app_request(request);
        CHECK(message.find(std::string("\"kind\":\"") + std::string(to_string(kind)) + "\"") !=
              std::string::npos);
        const auto back = decode_app_request(message);
        REQUIRE(back);
        CHECK(back->kind == kind);
        CHECK(back->app_guid.empty());
        CHECK(back->timeout == 700ms);
    }
    CHECK(to_string(request_kind::proxy) == "proxy");
    CHECK(to_string(request_kind::apps) == "apps");
}

TEST_CASE("chunks carry raw payload bytes after their header line") {
    const std::string payload = "a{b=\"c\\nd\"} 1\n\n{\"not\":\"a header\"}\n# EOF\n";
    const std::string message =
        encode_chunk({.node = "n2", .request = "9", .seq = 3, .last = true}, payload);
    const auto back = decode_chunk(message);
    REQUIRE(back);
    CHECK(back->header.node == "n2");
    CHECK(back->header.request == "9");
    CHECK(back->header.seq == 3);
    CHECK(back->header.last);
    CHECK(back->payload == payload);
    CHECK_FALSE(decode_chunk("no newline"));
    CHECK_FALSE(decode_chunk("{}\nx"));
    CHECK_FALSE(decode_chunk(R"({"node":"n2","request":"9","seq":3})"
                             "\nx"));
    CHECK_FALSE(decode_chunk(R"({"node":"n2","request":"9","seq":3,"last":1})"
                             "\nx"));
    CHECK_FALSE(decode_chunk(R"({"node":"n2","request":"9","seq":99999999,"last":true})"
                             "\n"));
    CHECK(decode_chunk(R"({"node":"n2","request":"9","seq":0,"last":false})"
                       "\n"));
}
