// HM events as the System Metrics Forwarder emitted them (bosh-system-metrics-forwarder-release
// src/pkg/mapper/map_test.go's golden mapping): the HM line decoded by the bosh module's own
// decoder, mapped, and parsed back with protoc's messages.
#include "loggregator/bosh_envelopes.hpp"

#include <loggregator-api/v2/envelope.pb.h>
#include <map>
#include <string>

#include <catch2/catch.hpp>

using namespace mgw::loggregator;

namespace {

mgw::bosh::hm_event decode(std::string_view line) {
    auto decoded = mgw::bosh::decode_hm_event(line);
    REQUIRE(decoded.has_value());
    return *std::move(decoded);
}

loggregator::v2::Envelope only_envelope(const parcel& p) {
    loggregator::v2::EnvelopeBatch batch;
    REQUIRE(batch.ParseFromString(p.bytes));
    REQUIRE(batch.batch_size() == 1);
    REQUIRE(p.count() == 1);
    CHECK(p.sizes[0] == p.bytes.size());
    return batch.batch(0);
}

// A heartbeat as HM writes it, with all 15 metrics (one value that does not parse, which the
// original server left out).
const std::string heartbeat =
    R"({"kind":"heartbeat","id":"fd5ded9b","timestamp":1507655859,"deployment":"loggregator",)"
    R"("agent_id":"f6d0703a","job":"doppler","index":"0","instance_id":"eca69415",)"
    R"("job_state":"running","vitals":{},"teams":[],"metrics":[)"
    R"({"name":"system.load.1m","value":"0.45","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.cpu.user","value":"22.1","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.cpu.sys","value":"7.0","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.cpu.wait","value":"0.8","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.mem.percent","value":"37","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.mem.kb","value":"1502632","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.swap.percent","value":"0","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.swap.kb","value":"4944","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.system.percent","value":"27","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.system.inode_percent","value":"14","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.ephemeral.percent","value":"3","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.ephemeral.inode_percent","value":"2","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.persistent.percent","value":"80","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.disk.persistent.inode_percent","value":"","timestamp":1507655859,"tags":{}},)"
    R"({"name":"system.healthy","value":"1","timestamp":1507655859,"tags":{}}]})";

}  // namespace

TEST_CASE("a heartbeat is one Gauge with the forwarder's tags, names and units") {
    parcel p;
    append_heartbeat_envelope(p, std::get<mgw::bosh::hm_heartbeat>(decode(heartbeat)), "10.0.0.6");
    CHECK(p.source == envelope_source::bosh);
    const auto e = only_envelope(p);
    CHECK(e.timestamp() == 1507655859000000000);
    CHECK(e.source_id().empty());  // the agent fills it from tags.origin
    CHECK(e.instance_id().empty());
    const std::map<std::string, std::string> tags(e.tags().begin(), e.tags().end());
    CHECK(tags == std::map<std::string, std::string>{{"job", "doppler"},
                                                     {"index", "eca69415"},  // the quirk
                                                     {"id", "eca69415"},
                                                     {"origin", "bosh-system-metrics-forwarder"},
                                                     {"deployment", "loggregator"},
                                                     {"ip", "10.0.0.6"}});
    REQUIRE(e.message_case() == loggregator::v2::Envelope::kGauge);
    std::map<std::string, std::pair<std::string, double>> metrics;
    for (const auto& [name, value] : e.gauge().metrics()) {
        metrics[name] = {value.unit(), value.value()};
    }
    const std::map<std::string, std::pair<std::string, double>> expected{
        {"system.load.1m", {"Load", 0.45}},
        {"system.cpu.user", {"Load", 22.1}},
        {"system.cpu.sys", {"Load", 7.0}},
        {"system.cpu.wait", {"Load", 0.8}},
        {"system.mem.percent", {"Percent", 37}},
        {"system.mem.kb", {"Kb", 1502632}},
        {"system.swap.percent", {"Percent", 0}},
        {"system.swap.kb", {"Kb", 4944}},
        {"system.disk.system.percent", {"Percent", 27}},
        {"system.disk.system.inode_percent", {"Percent", 14}},
        {"system.disk.ephemeral.percent", {"Percent", 3}},
        {"system.disk.ephemeral.inode_percent", {"Percent", 2}},
        {"system.disk.persistent.percent", {"Percent", 80}},
        {"system.healthy", {"b", 1}},
    };
    CHECK(metrics == expected);
}

TEST_CASE("without bosh_ip_tag the heartbeat has no ip tag (the agent adds its own)") {
    parcel p;
    append_heartbeat_envelope(p, std::get<mgw::bosh::hm_heartbeat>(decode(heartbeat)), "");
    const auto e = only_envelope(p);
    CHECK_FALSE(e.tags().contains("ip"));
    CHECK(e.tags().size() == 5);
}

TEST_CASE("the forwarder's unit table, and no unit for names it did not know") {
    CHECK(heartbeat_unit("system.healthy") == "b");
    CHECK(heartbeat_unit("system.load.1m") == "Load");
    CHECK(heartbeat_unit("system.cpu.wait") == "Load");
    CHECK(heartbeat_unit("system.disk.persistent.inode_percent") == "Percent");
    CHECK(heartbeat_unit("system.swap.kb") == "Kb");
    CHECK(heartbeat_unit("system.load.5m").empty());
    CHECK(heartbeat_unit("").empty());
}

TEST_CASE("an alert is a v2 Event with its severity, category and source as tags") {
    parcel p;
    const auto alert =
        decode(R"({"kind":"alert","id":"93eb25a4","severity":4,"category":null,)"
               R"("title":"SSH Access Denied","summary":"Failed password for vcap",)"
               R"("source":"loggregator: log-api(6f72) [id=130a, index=0, cid=b5df]",)"
               R"("deployment":"loggregator","created_at":1499359162})");
    append_alert_envelope(p, std::get<mgw::bosh::hm_alert>(alert), "");
    CHECK(p.source == envelope_source::bosh);
    const auto e = only_envelope(p);
    CHECK(e.timestamp() == 1499359162000000000);
    REQUIRE(e.message_case() == loggregator::v2::Envelope::kEvent);
    CHECK(e.event().title() == "SSH Access Denied");
    CHECK(e.event().body() == "Failed password for vcap");
    const std::map<std::string, std::string> tags(e.tags().begin(), e.tags().end());
    CHECK(tags == std::map<std::string, std::string>{
                      {"origin", "bosh-system-metrics-forwarder"},
                      {"deployment", "loggregator"},
                      {"severity", "4"},
                      {"source", "loggregator: log-api(6f72) [id=130a, index=0, cid=b5df]"},
                      {"alert_id", "93eb25a4"}});

    parcel q;
    const auto categorized =
        decode(R"({"kind":"alert","id":"2b1c","severity":2,"category":"vm_health","title":"t",)"
               R"("summary":"s","source":"src","deployment":"cf","created_at":1700000000})");
    append_alert_envelope(q, std::get<mgw::bosh::hm_alert>(categorized), "10.0.0.6");
    const auto f = only_envelope(q);
    CHECK(f.tags().at("category") == "vm_health");
    CHECK(f.tags().at("severity") == "2");
    CHECK(f.tags().at("ip") == "10.0.0.6");
}
