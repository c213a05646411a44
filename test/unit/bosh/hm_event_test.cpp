// The HM event decoder against HM's own examples and quirks (bosh-monitor's JSON plugin) and
// against input HM never writes.
#include <string>

#include <catch2/catch.hpp>

#include <mgw/bosh/hm_event.hpp>

using namespace mgw::bosh;

namespace {

// Issue #1807's capture (study A.5), one line as on the wire.
const std::string heartbeat_line =
    R"({"kind":"heartbeat","id":"fd5ded9b-9cbc-4f51-a1ed-363fa77bfc1b","timestamp":1507655859,)"
    R"("deployment":"loggregator","agent_id":"f6d0703a-48ae-41b0-aefc-8305c12f4a2d","job":"doppler",)"
    R"("index":"0","instance_id":"eca69415-6770-467f-a0aa-6cb620a0b6d0","job_state":"running",)"
    R"("vitals":{"cpu":{"sys":"7.0","user":"22.1","wait":"0.8"},"disk":{"ephemeral":{"inode_percent":"2","percent":"3"},"system":{"inode_percent":"14","percent":"27"}},)"
    R"("load":["0.45","1.05","0.97"],"mem":{"kb":"1502632","percent":"37"},"swap":{"kb":"4944","percent":"0"},"uptime":{"secs":86400}},)"
    R"("teams":[],"metrics":[)"
    R"({"name":"system.load.1m","value":"0.45","timestamp":1507655859,"tags":{"job":"doppler","index":"0","id":"eca69415"}},)"
    R"({"name":"system.cpu.user","value":"22.1","timestamp":1507655859,"tags":{"job":"doppler","index":"0","id":"eca69415"}},)"
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
    R"({"name":"system.healthy","value":"1","timestamp":1507655859,"tags":{"job":"doppler","index":"0","id":"eca69415"}}],)"
    R"("number_of_processes":5})";

const std::string alert_line =
    R"({"kind":"alert","id":"93eb25a4-9348-4232-6f71-69e1e01081d7","severity":4,"category":null,)"
    R"("title":"SSH Access Denied","summary":"Failed password for vcap from 10.244.0.1 port 38732 ssh2",)"
    R"("source":"loggregator: log-api(6f721317) [id=130a69f5, index=0, cid=b5df1c77]",)"
    R"("deployment":"loggregator","created_at":1499359162})";

errc failure_of(const std::string& line) {
    const decode_result r = decode_hm_event(line);
    REQUIRE(r.has_error());
    return r.error().failure();
}

}  // namespace

TEST_CASE("a heartbeat from issue #1807 decodes with its 13 metrics (no persistent disk)",
          "[hm_event]") {
    const decode_result r = decode_hm_event(heartbeat_line);
    REQUIRE(r.has_value());
    const auto& hb = std::get<hm_heartbeat>(*r);
    CHECK(hb.id == "fd5ded9b-9cbc-4f51-a1ed-363fa77bfc1b");
    CHECK(hb.timestamp == 1507655859);
    CHECK(hb.deployment == "loggregator");
    CHECK(hb.agent_id == "f6d0703a-48ae-41b0-aefc-8305c12f4a2d");
    CHECK(hb.job == "doppler");
    CHECK(hb.index == "0");
    CHECK(hb.instance_id == "eca69415-6770-467f-a0aa-6cb620a0b6d0");
    CHECK(hb.job_state == "running");
    REQUIRE(hb.metrics.size() == 13);
    CHECK(hb.metrics[0].name == "system.load.1m");
    CHECK(hb.metrics[0].value == Approx(0.45));
    CHECK(hb.metrics[5].name == "system.mem.kb");
    CHECK(hb.metrics[5].value == 1502632);
    CHECK(hb.metrics[12].name == "system.healthy");
    CHECK(hb.metrics[12].value == 1);
    REQUIRE(hb.number_of_processes);
    CHECK(*hb.number_of_processes == 5);
}

TEST_CASE("an empty index (bosh recreate, #1807) is accepted as \"\"", "[hm_event]") {
    const decode_result r = decode_hm_event(
        R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","job":"j","index":"",)"
        R"("instance_id":"i","job_state":"running","metrics":[]})");
    REQUIRE(r.has_value());
    CHECK(std::get<hm_heartbeat>(*r).index.empty());
    CHECK(std::get<hm_heartbeat>(*r).metrics.empty());
    CHECK_FALSE(std::get<hm_heartbeat>(*r).number_of_processes);
}

TEST_CASE("a numeric index and numeric metric values are what HM's to_s would make", "[hm_event]") {
    const decode_result r = decode_hm_event(
        R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","index":4,)"
        R"("metrics":[{"name":"system.cpu.user","value":22.3},{"name":"system.mem.kb","value":512031}]})");
    REQUIRE(r.has_value());
    const auto& hb = std::get<hm_heartbeat>(*r);
    CHECK(hb.index == "4");
    REQUIRE(hb.metrics.size() == 2);
    CHECK(hb.metrics[0].value == Approx(22.3));
    CHECK(hb.metrics[1].value == 512031);
}

TEST_CASE("metric values that are not numbers (\"\" included) are skipped, not fatal",
          "[hm_event]") {
    const decode_result r = decode_hm_event(
        R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","index":"1","job_state":null,)"
        R"("metrics":[{"name":"system.cpu.user","value":""},{"name":"system.cpu.sys","value":"abc"},)"
        R"({"name":"system.cpu.wait","value":"NaN"},{"name":"system.mem.kb","value":"12"},{"name":"x"}]})");
    REQUIRE(r.has_value());
    const auto& hb = std::get<hm_heartbeat>(*r);
    REQUIRE(hb.metrics.size() == 1);
    CHECK(hb.metrics[0].name == "system.mem.kb");
    CHECK(hb.job_state.empty());
}

TEST_CASE("without metrics[] the metrics are derived from vitals as HM does", "[hm_event]") {
    const decode_result r = decode_hm_event(
        R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","index":"0","job_state":"failing",)"
        R"("vitals":{"cpu":{"sys":"1.5","user":"2.5","wait":""},"load":["0.5","1","2"],)"
        R"("mem":{"kb":"100","percent":"10"},"disk":{"persistent":{"percent":"80","inode_percent":"5"}}}})");
    REQUIRE(r.has_value());
    const auto& hb = std::get<hm_heartbeat>(*r);
    std::vector<std::string> names;
    for (const auto& m : hb.metrics) {
        names.push_back(m.name);
    }
    CHECK(names == std::vector<std::string>{
                       "system.load.1m", "system.cpu.user", "system.cpu.sys", "system.mem.percent",
                       "system.mem.kb", "system.disk.persistent.percent",
                       "system.disk.persistent.inode_percent", "system.healthy"});
    CHECK(hb.metrics.back().value == 0);  // job_state failing
}

TEST_CASE("an alert with a null category decodes, summary defaults to the title", "[hm_event]") {
    const decode_result r = decode_hm_event(alert_line);
    REQUIRE(r.has_value());
    const auto& a = std::get<hm_alert>(*r);
    CHECK(a.id == "93eb25a4-9348-4232-6f71-69e1e01081d7");
    CHECK(a.severity == 4);
    CHECK(a.category.empty());
    CHECK(a.title == "SSH Access Denied");
    CHECK(a.deployment == "loggregator");
    CHECK(a.created_at == 1499359162);

    const decode_result hm_generated = decode_hm_event(
        R"({"kind":"alert","id":12,"severity":2,"category":"vm_health","title":"t",)"
        R"("source":"s","deployment":null,"created_at":1700000000})");
    REQUIRE(hm_generated.has_value());
    const auto& b = std::get<hm_alert>(*hm_generated);
    CHECK(b.id == "12");
    CHECK(b.summary == "t");
    CHECK(b.category == "vm_health");
    CHECK(b.deployment.empty());
}

TEST_CASE("severities 1 to 4 and 0 are accepted, negative ones are not", "[hm_event]") {
    for (int severity : {0, 1, 2, 3, 4}) {
        const std::string line = R"({"kind":"alert","id":"a","severity":)" +
                                 std::to_string(severity) + R"(,"title":"t","created_at":1})";
        CHECK(decode_hm_event(line).has_value());
    }
    CHECK(failure_of(R"({"kind":"alert","id":"a","severity":-1,"title":"t","created_at":1})") ==
          errc::bad_value);
    CHECK(failure_of(R"({"kind":"alert","id":"a","severity":"2","title":"t","created_at":1})") ==
          errc::wrong_type);
    CHECK(failure_of(R"({"kind":"alert","id":"a","severity":2.5,"title":"t","created_at":1})") ==
          errc::bad_value);
}

TEST_CASE("bad lines are errors with a reason, never exceptions", "[hm_event]") {
    CHECK(failure_of("") == errc::not_json);
    CHECK(failure_of("not json at all") == errc::not_json);
    CHECK(failure_of(R"({"kind":"heartbeat")") == errc::not_json);
    CHECK(failure_of("[1,2,3]") == errc::not_object);
    CHECK(failure_of("\"heartbeat\"") == errc::not_object);
    CHECK(failure_of("{}") == errc::unknown_kind);
    CHECK(failure_of(R"({"kind":"shutdown","id":"x"})") == errc::unknown_kind);
    CHECK(failure_of(R"({"kind":7})") == errc::unknown_kind);
    CHECK(failure_of(R"({"kind":"heartbeat","timestamp":1,"deployment":"d"})") ==
          errc::missing_field);
    CHECK(failure_of(R"({"kind":"heartbeat","id":"x","deployment":"d"})") == errc::missing_field);
    CHECK(failure_of(R"({"kind":"heartbeat","id":"x","timestamp":"1","deployment":"d"})") ==
          errc::wrong_type);
    CHECK(
        failure_of(R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","index":[0]})") ==
        errc::wrong_type);
    CHECK(failure_of(
              R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","metrics":{}})") ==
          errc::wrong_type);
    CHECK(failure_of(
              R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","metrics":[1]})") ==
          errc::wrong_type);
    CHECK(failure_of(
              R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","vitals":"v"})") ==
          errc::wrong_type);
    CHECK(failure_of(R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":5})") ==
          errc::wrong_type);
    CHECK(
        failure_of(
            R"({"kind":"heartbeat","id":"x","timestamp":1,"deployment":"d","number_of_processes":"5"})") ==
        errc::wrong_type);
    CHECK(failure_of(R"({"kind":"alert","id":{},"severity":1,"title":"t","created_at":1})") ==
          errc::wrong_type);
    CHECK(failure_of(R"({"kind":"alert","id":"a","severity":1,"created_at":1})") ==
          errc::missing_field);
    CHECK(failure_of(R"({"kind":"alert","id":"a","severity":1,"title":"t","created_at":"now"})") ==
          errc::wrong_type);
}

TEST_CASE("a 10 MB line is decoded or rejected without trouble", "[hm_event]") {
    std::string huge = R"({"kind":"alert","id":"a","severity":1,"title":")";
    huge.append(10u << 20, 'x');
    huge += R"(","created_at":1})";
    const decode_result ok = decode_hm_event(huge);
    REQUIRE(ok.has_value());
    CHECK(std::get<hm_alert>(*ok).title.size() == 10u << 20);

    std::string garbage(10u << 20, '{');
    CHECK(failure_of(garbage) == errc::not_json);  // depth limit, not a stack overflow
}

TEST_CASE("a trailing carriage return is tolerated", "[hm_event]") {
    CHECK(decode_hm_event(alert_line + "\r").has_value());
}

TEST_CASE("gauge names replace dots and refuse what cannot be a metric name", "[hm_event]") {
    CHECK(gauge_name("system.cpu.user") == "system_cpu_user");
    CHECK(gauge_name("system.load.1m") == "system_load_1m");
    CHECK(gauge_name("system.disk.ephemeral.inode_percent") ==
          "system_disk_ephemeral_inode_percent");
    CHECK(gauge_name("").empty());
    CHECK(gauge_name("1abc").empty());
    CHECK(gauge_name("a b").empty());
    CHECK(gauge_name("x\"y").empty());
}

TEST_CASE("HM decode errors are error codes of the category mgw.bosh") {
    const auto& category = mgw::bosh::error_category();
    CHECK(std::string_view(category.name()) == "mgw.bosh");
    CHECK(category.message(static_cast<int>(errc::not_json)) == "the line is not JSON");
    CHECK(category.message(static_cast<int>(errc::not_object)) == "the line is not a JSON object");
    CHECK(category.message(static_cast<int>(errc::unknown_kind)) ==
          "the event kind is neither heartbeat nor alert");
    CHECK(category.message(static_cast<int>(errc::missing_field)) == "a required field is missing");
    CHECK(category.message(static_cast<int>(errc::wrong_type)) ==
          "a field has a type the Health Monitor never writes there");
    CHECK(category.message(static_cast<int>(errc::bad_value)) == "a field has an impossible value");
    CHECK(category.message(0) == "unknown bosh error");
    const auto rejected = decode_hm_event("[1]");
    REQUIRE(rejected.has_error());
    CHECK(rejected.error().code == errc::not_object);
    CHECK(&rejected.error().code.category() == &category);
    // The counter's reason label is unchanged.
    CHECK(to_string(rejected.error().failure()) == "not_object");
}
