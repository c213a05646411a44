// HM JSON → definitions.Event, against the original server's own test cases
// (src/pkg/unmarshal/event_test.go, as the study paraphrases them) and Go's decoding rules.
#include "bosh/grpc_event.hpp"

#include <mgw_proto_bosh/events.pb.h>

#include <catch2/catch.hpp>

#include <mgw/grpc/message_framing.hpp>

using mgw::bosh::encode_grpc_event;

namespace {

definitions::Event decode(std::string_view line) {
    const auto bytes = encode_grpc_event(line);
    REQUIRE(bytes);
    definitions::Event event;
    REQUIRE(event.ParseFromString(*bytes));
    return event;
}

const std::string heartbeat =
    R"({"kind":"heartbeat","id":"fd5ded9b-9cbc-4f51-a1ed-363fa77bfc1b","timestamp":1507655859,)"
    R"("deployment":"loggregator","agent_id":"f6d0703a-48ae-41b0-aefc-8305c12f4a2d",)"
    R"("job":"doppler","index":"4","instance_id":"eca69415-6770-467f-a0aa-6cb620a0b6d0",)"
    R"("job_state":"running","vitals":{"cpu":{"sys":"7.0"},"uptime":{"secs":86400}},"teams":[],)"
    R"("metrics":[)"
    R"({"name":"system.load.1m","value":"0.45","timestamp":1507655859,)"
    R"("tags":{"job":"doppler","index":"4","id":"eca69415-6770-467f-a0aa-6cb620a0b6d0"}},)"
    R"({"name":"system.disk.persistent.percent","value":"","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.healthy","value":"1","timestamp":1507655860,"tags":{"job":"doppler"}}],)"
    R"("number_of_processes":5})";

}  // namespace

TEST_CASE("a heartbeat maps field for field, timestamps in nanoseconds", "[grpc_event]") {
    const definitions::Event e = decode(heartbeat);
    CHECK(e.timestamp() == 1507655859000000000);
    CHECK(e.id() == "fd5ded9b-9cbc-4f51-a1ed-363fa77bfc1b");
    CHECK(e.deployment() == "loggregator");
    REQUIRE(e.has_heartbeat());
    const auto& hb = e.heartbeat();
    CHECK(hb.agent_id() == "f6d0703a-48ae-41b0-aefc-8305c12f4a2d");
    CHECK(hb.job() == "doppler");
    CHECK(hb.index() == 4);
    CHECK(hb.instance_id() == "eca69415-6770-467f-a0aa-6cb620a0b6d0");
    CHECK(hb.job_state() == "running");
    // The metric with value "" is left out.
    REQUIRE(hb.metrics_size() == 2);
    CHECK(hb.metrics(0).name() == "system.load.1m");
    CHECK(hb.metrics(0).value() == 0.45);
    CHECK(hb.metrics(0).timestamp() == 1507655859000000000);
    CHECK(hb.metrics(0).tags().size() == 3);
    CHECK(hb.metrics(0).tags().at("index") == "4");
    CHECK(hb.metrics(0).tags().at("id") == "eca69415-6770-467f-a0aa-6cb620a0b6d0");
    CHECK(hb.metrics(1).name() == "system.healthy");
    CHECK(hb.metrics(1).value() == 1.0);
    CHECK(hb.metrics(1).timestamp() == 1507655860000000000);
}

TEST_CASE("an all-empty heartbeat has index 0 and no metrics", "[grpc_event]") {
    const definitions::Event e = decode(
        R"({"kind":"heartbeat","id":"","timestamp":0,"deployment":"","agent_id":"","job":"",)"
        R"("index":"","instance_id":"","job_state":null,"metrics":[]})");
    REQUIRE(e.has_heartbeat());
    CHECK(e.heartbeat().index() == 0);
    CHECK(e.heartbeat().metrics_size() == 0);
    CHECK(e.heartbeat().job_state().empty());
    CHECK(e.timestamp() == 0);
}

TEST_CASE("an alert maps field for field, null category empty", "[grpc_event]") {
    const definitions::Event e = decode(
        R"({"kind":"alert","id":"93eb25a4-9348-4232-6f71-69e1e01081d7","severity":4,)"
        R"("category":null,"title":"SSH Access Denied","summary":"Failed password for vcap",)"
        R"("source":"loggregator: log-api(6f72) [id=130a, index=0, cid=b5df]",)"
        R"("deployment":"loggregator","created_at":1499359162})");
    CHECK(e.timestamp() == 1499359162000000000);
    CHECK(e.id() == "93eb25a4-9348-4232-6f71-69e1e01081d7");
    CHECK(e.deployment() == "loggregator");
    REQUIRE(e.has_alert());
    CHECK(e.alert().severity() == 4);
    CHECK(e.alert().category().empty());
    CHECK(e.alert().title() == "SSH Access Denied");
    CHECK(e.alert().summary() == "Failed password for vcap");
    CHECK(e.alert().source() == "loggregator: log-api(6f72) [id=130a, index=0, cid=b5df]");
}

TEST_CASE("lines the original dropped are not mapped", "[grpc_event]") {
    CHECK_FALSE(encode_grpc_event("{}"));  // no kind
    CHECK_FALSE(encode_grpc_event(R"({"kind":"vitals"})"));
    CHECK_FALSE(encode_grpc_event("[1,2]"));
    CHECK_FALSE(encode_grpc_event("not json"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"heartbeat","index":"invalid-index"})"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"heartbeat","index":"10000000000000"})"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"heartbeat","index":"2147483648"})"));
    // Go's strict types: an agent alert's integer id, a number as metric value, a float time.
    CHECK_FALSE(encode_grpc_event(R"({"kind":"alert","id":42,"severity":2})"));
    CHECK_FALSE(encode_grpc_event(
        R"({"kind":"heartbeat","metrics":[{"name":"system.healthy","value":1}]})"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"alert","created_at":1.5})"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"alert","severity":4294967296})"));
    CHECK_FALSE(encode_grpc_event(R"({"kind":"heartbeat","metrics":{}})"));
}

TEST_CASE("Go's decoding: case-insensitive keys, signed index, ParseFloat forms", "[grpc_event]") {
    const definitions::Event e = decode(
        R"({"Kind":"heartbeat","INDEX":"-3","metrics":[)"
        R"({"name":"a","value":"1e3"},{"name":"b","value":"+2.5"},{"name":"c","value":"NaN"},)"
        R"({"name":"d","value":"0x1p-2"},{"name":"e","value":"1e400"},{"name":"f","value":" 1"},)"
        R"({"name":"g","value":"1e-400"},{"name":"h","value":"-Inf"},null]})");
    REQUIRE(e.has_heartbeat());
    CHECK(e.heartbeat().index() == -3);
    std::vector<std::string> names;
    for (const auto& m : e.heartbeat().metrics()) {
        names.push_back(m.name());
    }
    // 1e400 overflows and " 1" has a space: both skipped, as ParseFloat fails on them.
    CHECK(names == std::vector<std::string>{"a", "b", "c", "d", "g", "h"});
    CHECK(e.heartbeat().metrics(0).value() == 1000.0);
    CHECK(e.heartbeat().metrics(1).value() == 2.5);
    CHECK(std::isnan(e.heartbeat().metrics(2).value()));
    CHECK(e.heartbeat().metrics(3).value() == 0.25);
    CHECK(e.heartbeat().metrics(4).value() == 0.0);
    CHECK(std::isinf(e.heartbeat().metrics(5).value()));
}

TEST_CASE("the framed form is the message with its gRPC prefix", "[grpc_event]") {
    // An alert: no map field, so its serialization is deterministic.
    const std::string alert = R"({"kind":"alert","id":"x","severity":2,"created_at":1})";
    const std::string framed = mgw::bosh::encode_grpc_event_message(alert);
    REQUIRE(framed.size() > mgw::grpc::message_prefix_bytes);
    CHECK(framed.substr(mgw::grpc::message_prefix_bytes) == *encode_grpc_event(alert));
    CHECK(static_cast<unsigned char>(framed[4]) == framed.size() - 5);
    CHECK(mgw::bosh::encode_grpc_event_message("{}").empty());
}
