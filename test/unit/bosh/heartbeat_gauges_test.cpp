// /v1/bosh/metrics rendering: system-metrics names and labels, alert counts, staleness, and
// a valid exposition according to mgw's own parser.
#include <catch2/catch.hpp>

#include <mgw/bosh/heartbeat_gauges.hpp>
#include <mgw/exposition/check.hpp>

using namespace mgw::bosh;
using namespace std::chrono_literals;

namespace {

hm_heartbeat heartbeat(std::string instance, std::string index, double cpu) {
    hm_heartbeat hb;
    hb.id = "uuid";
    hb.deployment = "cf";
    hb.job = "router";
    hb.index = std::move(index);
    hb.instance_id = std::move(instance);
    hb.agent_id = "agent";
    hb.metrics = {{"system.cpu.user", cpu},
                  {"system.mem.percent", 37},
                  {"system.healthy", 1},
                  {"system.disk.persistent.percent", 80.5},
                  {"system.load.1m", 0.45}};
    return hb;
}

void check_valid(const std::string& text) {
    std::string diagnostic;
    const int status = mgw::exposition::check_exposition(
        text, mgw::exposition::format::prometheus_text, diagnostic);
    INFO(text);
    INFO(diagnostic);
    CHECK(status == 0);
}

}  // namespace

TEST_CASE("the latest heartbeat of each instance becomes system_* gauges", "[gauges]") {
    heartbeat_gauges g({});
    const auto t0 = heartbeat_gauges::clock::now();
    g.record(heartbeat("i-1", "0", 1.5), t0);
    g.record(heartbeat("i-2", "", 2.5), t0);
    g.record(heartbeat("i-1", "0", 9.25), t0 + 1s);  // replaces i-1's values
    const std::string text = g.render(t0 + 2s);
    check_valid(text);
    CHECK(text.find("# TYPE system_cpu_user gauge\n") != std::string::npos);
    CHECK(text.find(R"(system_cpu_user{deployment="cf",job="router",index="0",id="i-1"} 9.25)") !=
          std::string::npos);
    CHECK(text.find(R"(system_cpu_user{deployment="cf",job="router",index="",id="i-2"} 2.5)") !=
          std::string::npos);
    CHECK(text.find("system_mem_percent{") != std::string::npos);
    CHECK(text.find("system_disk_persistent_percent{") != std::string::npos);
    CHECK(text.find("system_load_1m{") != std::string::npos);
    CHECK(text.find("system_healthy{") != std::string::npos);
    CHECK(text.find(" 1.5\n") == std::string::npos);
}

TEST_CASE("alerts are counted by deployment, severity and category", "[gauges]") {
    heartbeat_gauges g({});
    hm_alert a;
    a.deployment = "cf";
    a.severity = 2;
    a.category = "vm_health";
    g.record(a);
    g.record(a);
    a.category.clear();
    a.severity = 4;
    g.record(a);
    const std::string text = g.render(heartbeat_gauges::clock::now());
    check_valid(text);
    CHECK(text.find("# TYPE bosh_alerts_total counter\n") != std::string::npos);
    CHECK(text.find(R"(bosh_alerts_total{deployment="cf",severity="2",category="vm_health"} 2)") !=
          std::string::npos);
    CHECK(text.find(R"(bosh_alerts_total{deployment="cf",severity="4",category=""} 1)") !=
          std::string::npos);
}

TEST_CASE("instances that stop heartbeating disappear after the staleness", "[gauges]") {
    heartbeat_gauges g({.staleness = 5min, .max_instances = 100, .max_alert_series = 100});
    const auto t0 = heartbeat_gauges::clock::now();
    g.record(heartbeat("old", "0", 1), t0);
    g.record(heartbeat("new", "1", 2), t0 + 4min);
    const std::string text = g.render(t0 + 6min);
    CHECK(text.find("id=\"old\"") == std::string::npos);
    CHECK(text.find("id=\"new\"") != std::string::npos);
    CHECK(g.instance_count() == 1);
    CHECK(g.render(t0 + 20min).empty());
}

TEST_CASE("label values are escaped and the instance count is bounded", "[gauges]") {
    heartbeat_gauges g({.staleness = 5min, .max_instances = 1, .max_alert_series = 1});
    const auto t0 = heartbeat_gauges::clock::now();
    hm_heartbeat hb = heartbeat("i", "0", 1);
    hb.deployment = "we\"ird\\dep\nloy";
    CHECK(g.record(hb, t0));
    CHECK_FALSE(g.record(heartbeat("other", "0", 1), t0));
    const std::string text = g.render(t0);
    check_valid(text);
    CHECK(text.find(R"(deployment="we\"ird\\dep\nloy")") != std::string::npos);
    hm_alert a;
    CHECK(g.record(a));
    a.severity = 3;
    CHECK_FALSE(g.record(a));
}
