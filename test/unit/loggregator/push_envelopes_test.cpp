// Pushed metrics as the Metrics Forwarder emitted them (Metrics Forwarder for PCF, tile docs
// v1.11): the request decoded by the push module's own decoder, mapped, and parsed back with
// protoc's messages.
#include "loggregator/push_envelopes.hpp"

#include <loggregator-api/v2/envelope.pb.h>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "loggregator/envelope_encoding.hpp"

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

namespace {

// The envelopes as they were first encoded, every tag written per envelope: the instance's tags
// encoded once (append_tag_entries) must give the same bytes.
parcel every_tag_per_envelope(std::string_view app_guid, const mgw::push::push_request& request,
                              std::int64_t wall_ms, counter_envelope counters) {
    parcel out;
    for (const auto& application : request.applications) {
        for (const auto& instance : application.instances) {
            for (const auto& m : instance.metrics) {
                std::vector<envelope_tag> tags;
                for (const auto& [key, value] : m.tags) {
                    if (key != "type" && key != "origin" && key != "applicationGuid" &&
                        key != "applicationInstance" && key != "applicationInstanceIndex") {
                        tags.push_back({key, value});
                    }
                }
                tags.push_back({"type", mgw::push::to_string(m.type)});
                tags.push_back({"origin", "metrics-forwarder"});
                tags.push_back({"applicationGuid", app_guid});
                if (!instance.id.empty()) {
                    tags.push_back({"applicationInstance", instance.id});
                }
                tags.push_back({"applicationInstanceIndex", instance.index});
                const envelope_header header{
                    .timestamp_ns = m.timestamp_ms.value_or(wall_ms) * 1'000'000,
                    .source_id = app_guid,
                    .instance_id = instance.index,
                    .tags = tags};
                if (m.type == mgw::push::pushed_type::counter &&
                    counters == counter_envelope::counter) {
                    const auto total = m.integer_value
                                           ? static_cast<std::uint64_t>(*m.integer_value)
                                           : static_cast<std::uint64_t>(m.value);
                    out.add(append_counter_envelope(out.bytes, header, m.original_name, 0, total));
                } else {
                    const gauge_metric metric{m.original_name, m.unit, m.value};
                    out.add(append_gauge_envelope(out.bytes, header, {&metric, 1}));
                }
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the instance's tags encoded once give the bytes of every tag per envelope") {
    // Names and tags growing past the room made after the first envelope, two instances, one
    // without an id, and the app's own tags named like the fixed ones.
    std::string many = R"({"applications":[{"id":"a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d",)"
                       R"("instances":[{"id":"i-1","index":"7","metrics":[)";
    for (int i = 0; i < 40; ++i) {
        many += i == 0 ? "" : ",";
        many += R"({"name":"m)" + std::string(static_cast<std::size_t>(i) * 3, 'x') +
                R"(","type":")" + (i % 3 == 0 ? "counter" : "gauge") + R"(","value":)" +
                std::to_string(i) + R"(,"tags":{"k":")" +
                std::string(static_cast<std::size_t>(i), 'v') + R"(","origin":"spoof"}})";
    }
    many += R"(]},{"index":"8","metrics":[{"name":"last","type":"gauge","value":1.5,)"
            R"("unit":"ms","tags":{"applicationInstance":"spoof"}}]}]}],"version":1})";
    for (const std::string& source : {body, many}) {
        const auto request = decode(source);
        for (const auto style : {counter_envelope::gauge, counter_envelope::counter}) {
            parcel p;
            append_push_envelopes(p, app, request, 1600000000000, style);
            const parcel expected = every_tag_per_envelope(app, request, 1600000000000, style);
            CHECK(p.sizes == expected.sizes);
            CHECK(p.bytes == expected.bytes);
            CHECK(envelopes_of(p).batch_size() == static_cast<int>(request.metric_count));
        }
    }
}

TEST_CASE("encoded tags follow the envelope's own tags") {
    const std::vector<envelope_tag> own{{"a", "1"}};
    const std::vector<envelope_tag> shared{{"b", "2"}, {"c", ""}};
    std::string encoded;
    append_tag_entries(encoded, shared);
    const gauge_metric metric{"g", "", 3};
    std::string out;
    append_gauge_envelope(out,
                          {.timestamp_ns = 1, .source_id = "s", .instance_id = "0", .tags = own},
                          {&metric, 1}, encoded);
    std::vector<envelope_tag> all = own;
    all.insert(all.end(), shared.begin(), shared.end());
    std::string expected;
    append_gauge_envelope(expected,
                          {.timestamp_ns = 1, .source_id = "s", .instance_id = "0", .tags = all},
                          {&metric, 1});
    CHECK(out == expected);
    loggregator::v2::EnvelopeBatch batch;
    REQUIRE(batch.ParseFromString(out));
    CHECK(batch.batch(0).tags().size() == 3);
    CHECK(batch.batch(0).tags().at("c").empty());
}
