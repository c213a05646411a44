// The hand-written envelope encoder against protoc's messages generated from loggregator-api's
// envelope.proto: every field parsed back as written, and the same bytes as protoc's own
// serializer where proto3 fixes them (no maps, whose order is free).
#include "loggregator/envelope_encoding.hpp"

#include <cmath>
#include <limits>
#include <loggregator-api/v2/envelope.pb.h>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace mgw::loggregator;

namespace {

loggregator::v2::EnvelopeBatch parse(const std::string& entries) {
    loggregator::v2::EnvelopeBatch batch;
    REQUIRE(batch.ParseFromString(entries));
    return batch;
}

}  // namespace

TEST_CASE("a gauge envelope parses back field by field") {
    const std::vector<envelope_tag> tags{{"job", "router"}, {"deployment", "cf"}, {"empty", ""}};
    const std::vector<gauge_metric> metrics{{"system.cpu.user", "Load", 22.1},
                                            {"system.healthy", "b", 1},
                                            {"zero", "", 0.0},
                                            {"negative", "Kb", -2.5}};
    std::string out = "prefix";
    const std::size_t n = append_gauge_envelope(
        out,
        {.timestamp_ns = 1507655859000000000, .source_id = "src", .instance_id = "3", .tags = tags},
        metrics);
    REQUIRE(out.substr(0, 6) == "prefix");
    CHECK(n == out.size() - 6);
    const auto batch = parse(out.substr(6));
    REQUIRE(batch.batch_size() == 1);
    const auto& e = batch.batch(0);
    CHECK(e.timestamp() == 1507655859000000000);
    CHECK(e.source_id() == "src");
    CHECK(e.instance_id() == "3");
    CHECK(e.deprecated_tags().empty());
    REQUIRE(e.tags().size() == 3);
    CHECK(e.tags().at("job") == "router");
    CHECK(e.tags().at("deployment") == "cf");
    CHECK(e.tags().at("empty").empty());
    REQUIRE(e.message_case() == loggregator::v2::Envelope::kGauge);
    const auto& m = e.gauge().metrics();
    REQUIRE(m.size() == 4);
    CHECK(m.at("system.cpu.user").unit() == "Load");
    CHECK(m.at("system.cpu.user").value() == 22.1);
    CHECK(m.at("system.healthy").unit() == "b");
    CHECK(m.at("system.healthy").value() == 1.0);
    CHECK(m.at("zero").unit().empty());
    CHECK(m.at("zero").value() == 0.0);
    CHECK(m.at("negative").value() == -2.5);
}

TEST_CASE("empty fields are left out as proto3 writes them, the bytes match protoc's") {
    std::string out;
    append_counter_envelope(
        out, {.timestamp_ns = 0, .source_id = {}, .instance_id = {}, .tags = {}}, "requests", 0, 0);
    loggregator::v2::Envelope expected;
    expected.mutable_counter()->set_name("requests");
    loggregator::v2::EnvelopeBatch batch;
    *batch.add_batch() = expected;
    CHECK(out == batch.SerializeAsString());

    out.clear();
    append_counter_envelope(
        out,
        {.timestamp_ns = 1700000000123456789, .source_id = "app", .instance_id = {}, .tags = {}},
        "hits", 3, std::numeric_limits<std::uint64_t>::max());
    expected.Clear();
    expected.set_timestamp(1700000000123456789);
    expected.set_source_id("app");
    expected.mutable_counter()->set_name("hits");
    expected.mutable_counter()->set_delta(3);
    expected.mutable_counter()->set_total(std::numeric_limits<std::uint64_t>::max());
    batch.Clear();
    *batch.add_batch() = expected;
    CHECK(out == batch.SerializeAsString());

    out.clear();
    append_event_envelope(
        out, {.timestamp_ns = 42, .source_id = {}, .instance_id = "i", .tags = {}}, "title", "");
    expected.Clear();
    expected.set_timestamp(42);
    expected.set_instance_id("i");
    expected.mutable_event()->set_title("title");
    batch.Clear();
    *batch.add_batch() = expected;
    CHECK(out == batch.SerializeAsString());

    // A message with nothing in it is still that message (the oneof is set).
    out.clear();
    append_gauge_envelope(out, {}, {});
    const auto parsed = parse(out);
    CHECK(parsed.batch(0).message_case() == loggregator::v2::Envelope::kGauge);
    CHECK(parsed.batch(0).gauge().metrics().empty());
}

TEST_CASE("negative timestamps, -0.0, long strings and many entries survive") {
    const std::string long_value(70000, 'v');  // a 3-byte length
    std::vector<envelope_tag> tags;
    std::vector<std::string> keys;
    keys.reserve(200);
    for (int i = 0; i < 200; ++i) {
        keys.push_back(std::string("k").append(std::to_string(i)));
    }
    for (const std::string& k : keys) {
        tags.push_back({k, std::string_view(long_value).substr(0, 100)});
    }
    tags.push_back({"long", long_value});
    const gauge_metric metric{"m", "u", -0.0};
    std::string out;
    append_gauge_envelope(
        out, {.timestamp_ns = -5, .source_id = {}, .instance_id = {}, .tags = tags}, {&metric, 1});
    append_event_envelope(out,
                          {.timestamp_ns = std::numeric_limits<std::int64_t>::min(),
                           .source_id = {},
                           .instance_id = {},
                           .tags = {}},
                          long_value, long_value);
    const auto batch = parse(out);
    REQUIRE(batch.batch_size() == 2);
    CHECK(batch.batch(0).timestamp() == -5);
    CHECK(batch.batch(0).tags().size() == 201);
    CHECK(batch.batch(0).tags().at("long") == long_value);
    CHECK(batch.batch(0).tags().at("k199") == long_value.substr(0, 100));
    const double value = batch.batch(0).gauge().metrics().at("m").value();
    CHECK(value == 0.0);
    CHECK(std::signbit(value));
    CHECK(batch.batch(1).timestamp() == std::numeric_limits<std::int64_t>::min());
    CHECK(batch.batch(1).event().title() == long_value);
    CHECK(batch.batch(1).event().body() == long_value);
}

TEST_CASE("timestamps in ns saturate instead of overflowing") {
    CHECK(nanoseconds_of_milliseconds(1500000000000) == 1500000000000000000);
    CHECK(nanoseconds_of_milliseconds(-1) == -1000000);
    CHECK(nanoseconds_of_milliseconds(std::numeric_limits<std::int64_t>::max()) ==
          std::numeric_limits<std::int64_t>::max());
    CHECK(nanoseconds_of_milliseconds(std::numeric_limits<std::int64_t>::min()) ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(nanoseconds_of_seconds(1507655859) == 1507655859000000000);
    CHECK(nanoseconds_of_seconds(std::int64_t{1} << 40) ==
          std::numeric_limits<std::int64_t>::max());
}
