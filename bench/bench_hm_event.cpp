// HM event path, in process: decode of one HM line (alert and heartbeat as HM writes them) and
// publication to 10 subscriptions, the per-event work of the ingest strand.
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <mgw/bosh/hm_event.hpp>
#include <mgw/bosh/subscription_distributor.hpp>

namespace {

const std::string alert =
    R"({"kind":"alert","id":"93eb25a4-9348-4232-6f71-69e1e01081d7","severity":4,"category":null,)"
    R"("title":"SSH Access Denied","summary":"Failed password for vcap from 10.244.0.1 port 38732 ssh2",)"
    R"("source":"loggregator: log-api(6f721317-2399-4e38-b38c-9d1b213c2d67) [id=130a69f5-6da1-45ce-830e-31e9c856085a, index=0, cid=b5df1c77-2c91-4093-6fc5-1cf2cba72471]",)"
    R"("deployment":"loggregator","created_at":1499359162})";

std::string heartbeat() {
    std::string metrics;
    for (const char* name : {"system.load.1m", "system.cpu.user", "system.cpu.sys",
                             "system.cpu.wait", "system.mem.percent", "system.mem.kb",
                             "system.swap.percent", "system.swap.kb", "system.disk.system.percent",
                             "system.disk.system.inode_percent", "system.disk.ephemeral.percent",
                             "system.disk.ephemeral.inode_percent", "system.healthy"}) {
        metrics += metrics.empty() ? "" : ",";
        metrics +=
            R"({"name":")" + std::string(name) +
            R"(","value":"22.1","timestamp":1507655859,"tags":{"job":"doppler","index":"0","id":"eca69415-6770-467f-a0aa-6cb620a0b6d0"}})";
    }
    return R"({"kind":"heartbeat","id":"fd5ded9b-9cbc-4f51-a1ed-363fa77bfc1b","timestamp":1507655859,)"
           R"("deployment":"loggregator","agent_id":"f6d0703a-48ae-41b0-aefc-8305c12f4a2d","job":"doppler",)"
           R"("index":"0","instance_id":"eca69415-6770-467f-a0aa-6cb620a0b6d0","job_state":"running",)"
           R"("vitals":{"cpu":{"sys":"7.0","user":"22.1","wait":"0.8"},"disk":{"ephemeral":{"inode_percent":"2","percent":"3"},"system":{"inode_percent":"14","percent":"27"}},)"
           R"("load":["0.45","1.05","0.97"],"mem":{"kb":"1502632","percent":"37"},"swap":{"kb":"4944","percent":"0"},"uptime":{"secs":86400}},)"
           R"("teams":[],"metrics":[)" +
           metrics + R"(],"number_of_processes":5})";
}

void decode(benchmark::State& state, const std::string& line) {
    for (auto _ : state) {
        auto result = mgw::bosh::decode_hm_event(line);
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line.size()));
}

void BM_decode_alert(benchmark::State& state) {
    decode(state, alert);
}
BENCHMARK(BM_decode_alert);

void BM_decode_heartbeat(benchmark::State& state) {
    decode(state, heartbeat());
}
BENCHMARK(BM_decode_heartbeat);

// Publish batches of 64 events to 10 subscriptions whose consumers pop them right away.
void BM_publish_to_10_subscriptions(benchmark::State& state) {
    mgw::core::memory_budget memory(0);
    mgw::bosh::subscription_distributor d({}, memory);
    std::vector<mgw::bosh::subscription_distributor::consumer_id> consumers;
    const auto now = mgw::bosh::subscription_distributor::clock::now();
    for (int i = 0; i < 10; ++i) {
        consumers.push_back(*d.attach(
                                  "group-" + std::to_string(i), [] {}, now)
                                 .consumer);
    }
    const std::vector<std::string_view> batch(64, alert);
    std::vector<mgw::bosh::event_ptr> out;
    for (auto _ : state) {
        d.publish(batch);
        for (const auto c : consumers) {
            out.clear();
            d.pop(c, out, 256);
        }
    }
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_publish_to_10_subscriptions);

// The same with two consumers sharing each subscription (a queue group, as two forwarders).
void BM_publish_to_10_groups_of_2(benchmark::State& state) {
    mgw::core::memory_budget memory(0);
    mgw::bosh::subscription_distributor d({}, memory);
    std::vector<mgw::bosh::subscription_distributor::consumer_id> consumers;
    const auto now = mgw::bosh::subscription_distributor::clock::now();
    for (int i = 0; i < 20; ++i) {
        consumers.push_back(*d.attach(
                                  "group-" + std::to_string(i / 2), [] {}, now)
                                 .consumer);
    }
    const std::vector<std::string_view> batch(64, alert);
    std::vector<mgw::bosh::event_ptr> out;
    for (auto _ : state) {
        d.publish(batch);
        for (const auto c : consumers) {
            out.clear();
            d.pop(c, out, 256);
        }
    }
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_publish_to_10_groups_of_2);

}  // namespace

BENCHMARK_MAIN();
