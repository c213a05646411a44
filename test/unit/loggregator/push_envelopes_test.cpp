// Pushed metrics as the Metrics Forwarder emitted them (Metrics Forwarder for PCF, tile docs
// v1.11): the request decoded by the push module's own decoder, mapped, and parsed back with
// protoc's messages.
#include "loggregator/push_envelopes.hpp"

#include <loggregator-api/v2/envelope.pb.h>
#include <string>

#include <catch2/catch.hpp>

using namespace mgw::loggregator;

namespace {

constexpr std::string_view app = "a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d";

mgw::push::push_request decode(const std::string& body) {
    auto decoded = mgw::push::decode_push_request(body);
    REQUIRE(decoded.has_value());
    return *std::move(decoded);
}

loggregator::v2::EnvelopeBatch envelopes_of(const parcel& p) {
    loggregator::v2::EnvelopeBatch batch;
    REQUIRE(batch.ParseFromString(p.bytes));
    REQUIRE(static_cast<std::size_t>(batch.batch_size()) == p.count());
    std::size_t total = 0;
    for (std::uint32_t size : p.sizes) {
        total += size;
    }
    CHECK(total == p.bytes.size());
    return batch;
}

const std::string body = R"({"applications":[{"id":"A8A43B8D-6E2F-4CE5-A4F5-0AD3E0A51C5D",
  "instances":[{"id":"6f1e5b52-1a6b-4a0e-9d5a-31e2b14c1c00","index":"1","metrics":[
    {"name":"jvm.memory.used","type":"gauge","value":1.5,"unit":"bytes",
     "timestamp":1500000000123,"tags":{"area":"heap","type":"spoofed"}},
    {"name":"http.requests","type":"counter","value":42,"timestamp":1500000000456},
    {"name":"ratio","type":"counter","value":2.75}]},
   {"index":"0","metrics":[{"name":"up","type":"gauge","value":0}]}]}],"version":1})";

}  // namespace

TEST_CASE("each pushed metric is one v2 Gauge: source_id, instance_id, unit, tags") {
    const auto request = decode(body);
    parcel p;
    append_push_envelopes(p, app, request, 1600000000000, counter_envelope::gauge);
    CHECK(p.source == envelope_source::push);
    const auto batch = envelopes_of(p);
    REQUIRE(batch.batch_size() == 4);

    const auto& gauge = batch.batch(0);
    CHECK(gauge.timestamp() == 1500000000123000000);
    CHECK(gauge.source_id() == app);
    CHECK(gauge.instance_id() == "1");
    REQUIRE(gauge.message_case() == loggregator::v2::Envelope::kGauge);
    REQUIRE(gauge.gauge().metrics().size() == 1);
    // The name as the app sent it (the Prometheus side serves jvm_memory_used).
    const auto& value = gauge.gauge().metrics().at("jvm.memory.used");
    CHECK(value.unit() == "bytes");
    CHECK(value.value() == 1.5);
    // The app's own `type` tag cannot hide the metric's type.
    const std::map<std::string, std::string> expected_tags{
        {"area", "heap"},
        {"type", "gauge"},
        {"origin", "metrics-forwarder"},
        {"applicationGuid", std::string(app)},
        {"applicationInstance", "6f1e5b52-1a6b-4a0e-9d5a-31e2b14c1c00"},
        {"applicationInstanceIndex", "1"}};
    CHECK(std::map<std::string, std::string>(gauge.tags().begin(), gauge.tags().end()) ==
          expected_tags);

    // Counters are gauges too, tagged type=counter, as the Metrics Forwarder sent them.
    const auto& counter = batch.batch(1);
    CHECK(counter.timestamp() == 1500000000456000000);
    REQUIRE(counter.message_case() == loggregator::v2::Envelope::kGauge);
    CHECK(counter.gauge().metrics().at("http.requests").value() == 42);
    CHECK(counter.gauge().metrics().at("http.requests").unit().empty());
    CHECK(counter.tags().at("type") == "counter");

    // No timestamp: the time the push was received.
    CHECK(batch.batch(2).timestamp() == 1600000000000000000);
    CHECK(batch.batch(2).gauge().metrics().at("ratio").value() == 2.75);

    // An instance without an id has no applicationInstance tag.
    const auto& second = batch.batch(3);
    CHECK(second.instance_id() == "0");
    CHECK_FALSE(second.tags().contains("applicationInstance"));
    CHECK(second.tags().at("applicationInstanceIndex") == "0");
    CHECK(second.gauge().metrics().at("up").value() == 0);
}

TEST_CASE("loggregator.counters: counter makes counters v2 Counters with total") {
    const auto request = decode(body);
    parcel p;
    append_push_envelopes(p, app, request, 1600000000000, counter_envelope::counter);
    const auto batch = envelopes_of(p);
    REQUIRE(batch.batch_size() == 4);
    CHECK(batch.batch(0).message_case() == loggregator::v2::Envelope::kGauge);
    const auto& counter = batch.batch(1);
    REQUIRE(counter.message_case() == loggregator::v2::Envelope::kCounter);
    CHECK(counter.counter().name() == "http.requests");
    CHECK(counter.counter().total() == 42);
    // delta 0: the agent takes total as the new total instead of adding.
    CHECK(counter.counter().delta() == 0);
    CHECK(counter.tags().at("type") == "counter");
    CHECK(counter.source_id() == app);
    // A counter sent as a float is truncated (v2 totals are integers).
    REQUIRE(batch.batch(2).message_case() == loggregator::v2::Envelope::kCounter);
    CHECK(batch.batch(2).counter().total() == 2);
    CHECK(batch.batch(3).message_case() == loggregator::v2::Envelope::kGauge);
}

TEST_CASE("a large exact counter keeps its integer value") {
    const auto request = decode(
        R"({"applications":[{"id":"x","instances":[{"index":"0","metrics":[
            {"name":"big","type":"counter","value":9007199254740993}]}]}]})");
    parcel p;
    append_push_envelopes(p, "x", request, 0, counter_envelope::counter);
    const auto batch = envelopes_of(p);
    CHECK(batch.batch(0).counter().total() == 9007199254740993ULL);
}

TEST_CASE("no push envelope is smaller than min_push_envelope_bytes") {
    // The smallest body there is: a one-letter name, no unit, tags or timestamp, index "0", no
    // instance id, value 0.
    const auto request =
        decode(R"({"applications":[{"id":"a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d","instances":[)"
               R"({"index":"0","metrics":[{"name":"g","type":"gauge","value":0},)"
               R"({"name":"c","type":"counter","value":0}]}]}],"version":1})");
    for (const auto style : {counter_envelope::gauge, counter_envelope::counter}) {
        parcel p;
        append_push_envelopes(p, app, request, 0, style);
        REQUIRE(p.count() == 2);
        for (const std::uint32_t size : p.sizes) {
            CHECK(size >= min_push_envelope_bytes);
        }
    }
}
