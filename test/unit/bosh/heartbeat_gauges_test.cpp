// /v1/bosh/metrics rendering: system-metrics names and labels, alert counts, staleness, and
// a valid exposition according to mgw's own parser.
#include <catch2/catch.hpp>

#include <mgw/bosh/heartbeat_gauges.hpp>
#include <mgw/exposition/check.hpp>

using namespace mgw::bosh;
using namespace std::chrono_literals;
using mgw::core::memory_budget;
using mgw::core::memory_use;

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
    memory_budget memory(0);
    heartbeat_gauges g({}, memory);
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
    memory_budget memory(0);
    heartbeat_gauges g({}, memory);
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
    memory_budget memory(0);
    heartbeat_gauges g({.staleness = 5min, .max_instances = 100, .max_alert_series = 100}, memory);
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
    memory_budget memory(0);
    heartbeat_gauges g({.staleness = 5min, .max_instances = 1, .max_alert_series = 1}, memory);
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

// Issue 10's "memory bounded by counts": label values and metric names come from the ingest
// port, so the instances are bounded in bytes and leased from the memory budget.
TEST_CASE("the gauges are bounded in bytes and lease them", "[gauges]") {
    memory_budget memory(0);
    heartbeat_gauges g({.max_bytes = 20'000}, memory);
    const auto t0 = heartbeat_gauges::clock::now();
    hm_heartbeat big = heartbeat("i-big", "0", 1);
    big.deployment = std::string(30'000, 'd');
    CHECK_FALSE(g.record(big, t0));
    CHECK(g.instance_count() == 0);
    int kept = 0;
    for (int i = 0; i < 100; ++i) {
        kept += g.record(heartbeat("i-" + std::to_string(i), "0", 1), t0) ? 1 : 0;
    }
    CHECK(kept > 10);
    CHECK(kept < 100);
    CHECK(g.bytes() <= 20'000);
    CHECK(memory.leased(memory_use::bosh_queues) == g.bytes());
    // An instance already shown keeps its gauges when an update would not fit.
    hm_heartbeat grown = heartbeat("i-0", "0", 5);
    grown.job = std::string(20'000, 'j');
    CHECK_FALSE(g.record(grown, t0 + 1s));
    CHECK(g.render(t0 + 1s).find(R"(id="i-0"} 1)") != std::string::npos);
    // Stale instances give their bytes back.
    g.render(t0 + 1h);
    CHECK(g.instance_count() == 0);
    CHECK(memory.leased(memory_use::bosh_queues) == 0);
}

TEST_CASE("the gauges refuse what the memory budget refuses", "[gauges]") {
    memory_budget memory(2'000);
    heartbeat_gauges g({}, memory);
    const auto t0 = heartbeat_gauges::clock::now();
    int kept = 0;
    for (int i = 0; i < 50; ++i) {
        kept += g.record(heartbeat("i-" + std::to_string(i), "0", 1), t0) ? 1 : 0;
    }
    CHECK(kept > 0);
    CHECK(kept < 50);
    CHECK(memory.refusals(memory_use::bosh_queues) > 0);
}
