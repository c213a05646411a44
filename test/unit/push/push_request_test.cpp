// The Metrics Forwarder body decoder: the payloads real clients send (fixtures written from
// the study of the Java buildpack metric writer and Steeltoe), and every kind of bad input
// with the exact field and message a 422 reports.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <mgw/push/push_request.hpp>

namespace {

using mgw::push::decode_error;
using mgw::push::decode_push_request;
using mgw::push::push_request;
using mgw::push::pushed_type;

std::string fixture(const std::string& name) {
    std::ifstream in(MGW_SOURCE_DIR "/test/unit/push/fixtures/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

push_request accepted(std::string_view body) {
    auto result = decode_push_request(body);
    if (result.has_error()) {
        FAIL("rejected: " << result.error().field << ": " << result.error().message);
    }
    return *std::move(result);
}

decode_error rejected(std::string_view body, mgw::push::decode_limits limits = {}) {
    auto result = decode_push_request(body, limits);
    REQUIRE(result.has_error());
    return result.error();
}

// A body with one metric whose JSON object is `metric`.
std::string with_metric(std::string_view metric) {
    std::string body = R"({"applications":[{"id":"app-1","instances":[{"id":"i","index":"0",)"
                       R"("metrics":[)";
    body += metric;
    body += "]}]}]}";
    return body;
}

constexpr std::string_view metric0 = "applications[0].instances[0].metrics[0]";

std::string field(std::string_view suffix) {
    std::string out(metric0);
    out += suffix;
    return out;
}

}  // namespace

TEST_CASE("the Java buildpack metric writer's payload decodes with names sanitised") {
    const push_request request = accepted(fixture("java_metric_writer.json"));
    REQUIRE(request.applications.size() == 1);
    CHECK(request.applications[0].id == "a8a43b8d-6e2f-4ce5-a4f5-0ad3e0a51c5d");
    REQUIRE(request.applications[0].instances.size() == 1);
    const auto& instance = request.applications[0].instances[0];
    CHECK(instance.id == "e1c62cb4-4d5b-4a6a-6d1f-2d3b");
    CHECK(instance.index == "0");
    CHECK(request.metric_count == 7);
    REQUIRE(instance.metrics.size() == 7);

    const auto& heap = instance.metrics[0];
    CHECK(heap.name == "jvm_memory_used");
    CHECK(heap.type == pushed_type::gauge);
    CHECK(heap.value == 1.2345678E7);
    CHECK_FALSE(heap.integer_value);
    CHECK(heap.timestamp_ms == 1500000000000);
    using tags = std::vector<std::pair<std::string, std::string>>;
    CHECK(heap.tags == tags{{"area", "heap"}, {"id", "PS Eden Space"}, {"statistic", "value"}});

    const auto& count = instance.metrics[2];
    CHECK(count.name == "http_server_requests");
    CHECK(count.value == 42.0);
    CHECK(count.tags.size() == 6);
    CHECK(count.tags.front().first == "exception");  // sorted by name
    CHECK(count.tags.back() == std::pair<std::string, std::string>{"uri", "/hello"});
    CHECK(instance.metrics[5].tags[3].second == "99percentile");
}

TEST_CASE("Steeltoe's payload decodes: null unit, integer counter, no version") {
    const push_request request = accepted(fixture("steeltoe.json"));
    REQUIRE(request.applications.size() == 1);
    const auto& instance = request.applications[0].instances[0];
    CHECK(instance.index == "1");
    REQUIRE(instance.metrics.size() == 3);
    CHECK(instance.metrics[0].name == "clr_memory_used");
    const auto& counter = instance.metrics[1];
    CHECK(counter.name == "http_server_request_count");
    CHECK(counter.type == pushed_type::counter);
    CHECK(counter.integer_value == 17);
    CHECK(counter.timestamp_ms == 1500000000123);
    CHECK(instance.metrics[2].value == 12.5);
}

TEST_CASE("field names match case-insensitively and unknown fields are ignored") {
    const push_request request = accepted(
        R"({"Applications":[{"ID":"a","Instances":[{"Index":"07","Metrics":[)"
        R"({"Name":"m","Type":"Counter","Value":3,"Tags":{"k.v":"x"},"extra":{"deep":[1]}}]}]}],)"
        R"("version":1,"comment":"ignored"})");
    const auto& instance = request.applications[0].instances[0];
    CHECK(instance.id.empty());
    CHECK(instance.index == "7");  // leading zeros dropped: "07" and "7" are one instance
    CHECK(instance.metrics[0].type == pushed_type::counter);
    CHECK(instance.metrics[0].tags ==
          std::vector<std::pair<std::string, std::string>>{{"k_v", "x"}});
}

TEST_CASE("optional fields may be absent or null, an integer index is accepted") {
    const push_request request = accepted(
        R"({"applications":[{"id":"a","instances":[{"id":null,"index":3,"metrics":[)"
        R"({"name":"m","type":"gauge","value":1,"unit":null,"timestamp":null,"tags":null}]}]}]})");
    const auto& metric = request.applications[0].instances[0].metrics[0];
    CHECK(request.applications[0].instances[0].index == "3");
    CHECK_FALSE(metric.timestamp_ms);
    CHECK(metric.tags.empty());
    CHECK_FALSE(metric.integer_value);  // gauges are float64
    CHECK(accepted(R"({"applications":[]})").metric_count == 0);
}

TEST_CASE("invalid JSON is reported at the body with its byte offset") {
    const decode_error e = rejected(R"({"applications": [)");
    CHECK(e.field == "body");
    CHECK(e.message.starts_with("invalid JSON at byte 18: "));
    CHECK(rejected("").field == "body");
    CHECK(rejected(R"({"applications":[]} trailing)").message.starts_with("invalid JSON at byte"));
    CHECK(rejected("{\"applications\":[]}\n{}").field == "body");
}

TEST_CASE("the top level must be an object with an applications array") {
    CHECK(rejected("[]").to_json() ==
          R"({"error":"body: must be an object, got an array","field":"body"})");
    CHECK(rejected("{}").to_json() ==
          R"({"error":"applications: required","field":"applications"})");
    CHECK(rejected(R"({"applications":{}})").message == "must be an array, got an object");
    CHECK(rejected(R"({"applications":[],"version":"1"})").field == "version");
}

TEST_CASE("wrong types name the first bad field") {
    auto e = rejected(with_metric(R"({"name":"m","type":"gauge","value":"12"})"));
    CHECK(e.field == field(".value"));
    CHECK(e.message == R"(must be a number, got a string "12")");

    e = rejected(with_metric(R"({"name":7,"type":"gauge","value":1})"));
    CHECK(e.field == field(".name"));
    CHECK(e.message == "must be a string, got a number");

    e = rejected(with_metric(R"({"name":"m","type":"histogram","value":1})"));
    CHECK(e.field == field(".type"));
    CHECK(e.message == R"(must be "gauge" or "counter", got a string "histogram")");

    e = rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"timestamp":"now"})"));
    CHECK(e.field == field(".timestamp"));

    e = rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"timestamp":1.5})"));
    CHECK(e.field == field(".timestamp"));

    e = rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"unit":5})"));
    CHECK(e.field == field(".unit"));

    e = rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"a":1}})"));
    CHECK(e.field == field(".tags.a"));
    CHECK(e.message == "must be a string, got a number");

    e = rejected(with_metric(R"({"name":"m","type":"gauge","value":true})"));
    CHECK(e.message == "must be a number, got a boolean");

    e = rejected(with_metric(R"("m")"));
    CHECK(e.field == metric0);
    CHECK(e.message == R"(must be an object, got a string "m")");

    // The first of several errors is the one reported.
    e = rejected(R"({"applications":[{"id":"a","instances":[{"index":"0","metrics":[)"
                 R"({"name":"ok","type":"gauge","value":1},)"
                 R"({"name":"m","type":"gauge"},{"name":5}]}]}]})");
    CHECK(e.field == "applications[0].instances[0].metrics[1].value");
    CHECK(e.message == "required");
}

TEST_CASE("required fields and their values") {
    CHECK(rejected(R"({"applications":[{"instances":[]}]})").field == "applications[0].id");
    CHECK(rejected(R"({"applications":[{"id":"","instances":[]}]})").message ==
          "must not be empty");
    CHECK(rejected(R"({"applications":[{"id":"a"}]})").field == "applications[0].instances");
    CHECK(rejected(R"({"applications":[{"id":"a","instances":[{"metrics":[]}]}]})").field ==
          "applications[0].instances[0].index");
    for (const char* index : {R"("")", R"("-1")", R"("1a")", R"("12345678901")", "-1", "1.5"}) {
        const std::string body =
            std::string(R"({"applications":[{"id":"a","instances":[{"index":)") + index +
            R"(,"metrics":[]}]}]})";
        CAPTURE(index);
        CHECK(rejected(body).field == "applications[0].instances[0].index");
    }
    CHECK(rejected(with_metric(R"({"type":"gauge","value":1})")).field == field(".name"));
    CHECK(rejected(with_metric(R"({"name":"","type":"gauge","value":1})")).message ==
          "must not be empty");
    CHECK(rejected(with_metric(R"({"name":"m","value":1})")).field == field(".type"));
    CHECK(rejected(with_metric(R"({"name":"m","type":"gauge","value":null})")).message ==
          "required");
}

TEST_CASE("NaN and infinities are not numbers, as literals or strings") {
    for (const char* value : {R"("NaN")", R"("nan")", R"("Infinity")", R"("-Inf")", R"("+Inf")"}) {
        CAPTURE(value);
        const auto e = rejected(
            with_metric(std::string(R"({"name":"m","type":"gauge","value":)") + value + "}"));
        CHECK(e.field == field(".value"));
        CHECK(e.message.starts_with("must be a number, got a string"));
    }
    for (const char* value : {"NaN", "Infinity", "-Infinity"}) {
        CAPTURE(value);
        CHECK(rejected(
                  with_metric(std::string(R"({"name":"m","type":"gauge","value":)") + value + "}"))
                  .field == "body");
    }
    // Out of double range: Boost.JSON either refuses it or yields infinity; both are refused.
    const auto huge =
        decode_push_request(with_metric(R"({"name":"m","type":"gauge","value":1e400})"));
    REQUIRE(huge.has_error());
}

TEST_CASE("a counter must not be negative, a gauge may") {
    const auto e = rejected(with_metric(R"({"name":"c","type":"counter","value":-1})"));
    CHECK(e.field == field(".value"));
    CHECK(e.message == "a counter must not be negative");
    CHECK(accepted(with_metric(R"({"name":"g","type":"gauge","value":-1.5})"))
              .applications[0]
              .instances[0]
              .metrics[0]
              .value == -1.5);
}

TEST_CASE("tags whose names collide once sanitised are refused") {
    const auto e = rejected(
        with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"a.b":"1","a_b":"2"}})"));
    CHECK(e.field == field(".tags"));
    CHECK(e.message == R"(two tags are both named "a_b" once sanitised)");
    CHECK(
        rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"":"1"}})")).message ==
        "a tag name must not be empty");
}

TEST_CASE("10,000 metrics in one body exceed the per-request bound") {
    std::string metrics;
    for (int i = 0; i < 10000; ++i) {
        if (i != 0) {
            metrics.push_back(',');
        }
        metrics += R"({"name":"m)" + std::to_string(i) + R"(","type":"gauge","value":1})";
    }
    const std::string body = with_metric(metrics);
    const auto e = rejected(body);
    CHECK(e.field == "applications[0].instances[0].metrics");
    CHECK(e.message == "more than 5000 metrics in one request");

    mgw::push::decode_limits roomy;
    roomy.max_metrics = 10000;
    auto result = decode_push_request(body, roomy);
    REQUIRE(result.has_value());
    CHECK(result->metric_count == 10000);

    // The bound counts every instance of the body together.
    mgw::push::decode_limits three;
    three.max_metrics = 3;
    const std::string two_instances =
        R"({"applications":[{"id":"a","instances":[)"
        R"({"index":"0","metrics":[{"name":"a","type":"gauge","value":1},{"name":"b","type":"gauge","value":1}]},)"
        R"({"index":"1","metrics":[{"name":"a","type":"gauge","value":1},{"name":"b","type":"gauge","value":1}]}]}]})";
    CHECK(rejected(two_instances, three).field == "applications[0].instances[1].metrics");
}

TEST_CASE("deep nesting is refused by the parser") {
    std::string deep = R"({"applications":[],"extra":)";
    deep += std::string(100000, '[');
    deep += std::string(100000, ']');
    deep += "}";
    const auto e = rejected(deep);
    CHECK(e.field == "body");
    CHECK(e.message == "nested deeper than 16 levels");
    // The body's own structure (8 levels with tags) stays well inside the bound.
    accepted(with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"a":"b"}})"));
}

TEST_CASE("bounded names, tag counts and tag values") {
    mgw::push::decode_limits limits;
    limits.max_name_bytes = 4;
    limits.max_tags = 1;
    limits.max_tag_value_bytes = 3;
    CHECK(rejected(with_metric(R"({"name":"12345","type":"gauge","value":1})"), limits).message ==
          "longer than 4 bytes");
    CHECK(rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"a":"1","b":"2"}})"),
                   limits)
              .message == "more than 1 tags");
    CHECK(rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"tags":{"a":"1234"}})"),
                   limits)
              .field == field(".tags.a"));
}

TEST_CASE("the 422 body escapes what the client sent") {
    const decode_error e{"applications[0].id", "got \"a\\b\"\n"};
    CHECK(e.to_json() ==
          R"({"error":"applications[0].id: got \"a\\b\"\u000a","field":"applications[0].id"})");
}

TEST_CASE("a long string quoted in an error is cut on a UTF-8 boundary") {
    // 31 ASCII bytes, then a 3-byte character straddling the 32-byte cut.
    const std::string value = std::string(31, 'v') + "\xe2\x82\xac" + "tail";
    const auto e = rejected(with_metric(R"({"name":"m","type":"gauge","value":")" + value + "\"}"));
    CHECK(e.message == "must be a number, got a string \"" + std::string(31, 'v') + "...\"");
    const std::string fits = std::string(29, 'v') + "\xe2\x82\xac";  // exactly 32 bytes
    CHECK(rejected(with_metric(R"({"name":"m","type":"gauge","value":")" + fits + "\"}")).message ==
          "must be a number, got a string \"" + fits + "\"");
}

TEST_CASE("a timestamp outside the window around the receiver's clock is refused, naming it") {
    mgw::push::decode_limits limits;
    limits.timestamps = mgw::push::timestamp_window{.now_ms = 1'700'000'000'000};
    const auto metric = [](std::string_view timestamp) {
        return with_metric(R"({"name":"m","type":"gauge","value":1,"timestamp":)" +
                           std::string(timestamp) + "}");
    };
    const auto accepted_at = [&](std::string_view timestamp) {
        return decode_push_request(metric(timestamp), limits).has_value();
    };
    // The edges are inside: 1 h before, 5 min after.
    CHECK(accepted_at("1699996400000"));
    CHECK(accepted_at("1700000300000"));
    CHECK(accepted_at("1700000000000"));
    CHECK_FALSE(accepted_at("1699996399999"));
    CHECK_FALSE(accepted_at("1700000300001"));

    auto e = rejected(metric("4102444800000"), limits);  // 2100-01-01
    CHECK(e.field == field(".timestamp"));
    CHECK(e.message ==
          "4102444800000 is 76 years after the gateway's clock; a timestamp (epoch "
          "milliseconds) must lie between 1 h before and 5 min after it");
    e = rejected(metric("1699990000000"), limits);
    CHECK(e.message.starts_with("1699990000000 is 2.7 h before"));
    e = rejected(metric("1700000390000"), limits);
    CHECK(e.message.starts_with("1700000390000 is 6.5 min after"));
    // The fixtures' timestamp (2017) is long past.
    e = rejected(fixture("java_metric_writer.json"), limits);
    CHECK(e.field.ends_with(".timestamp"));
    CHECK(e.message.starts_with("1500000000000 is 6.3 years before"));
    // Extremes do not overflow.
    CHECK(rejected(metric("-9223372036854775808"), limits).field == field(".timestamp"));
    CHECK(rejected(metric("9223372036854775807"), limits).field == field(".timestamp"));
    // Metrics without a timestamp take the receiver's clock.
    CHECK(decode_push_request(with_metric(R"({"name":"m","type":"gauge","value":1})"), limits)
              .has_value());
}

TEST_CASE("push errors are error codes of the category mgw.push") {
    using mgw::push::errc;
    const auto& category = mgw::push::error_category();
    CHECK(std::string_view(category.name()) == "mgw.push");
    CHECK(category.message(static_cast<int>(errc::invalid_json)) == "the body is not valid JSON");
    CHECK(category.message(static_cast<int>(errc::missing_field)) == "a required field is missing");
    CHECK(category.message(static_cast<int>(errc::wrong_type)) ==
          "a field has the wrong JSON type");
    CHECK(category.message(static_cast<int>(errc::invalid_value)) ==
          "a field has a value the push API refuses");
    CHECK(category.message(static_cast<int>(errc::limit_exceeded)) ==
          "the body exceeds a size limit");
    CHECK(category.message(static_cast<int>(errc::timestamp_out_of_range)) ==
          "a timestamp lies outside the accepted window");
    CHECK(category.message(0) == "unknown push error");
    const boost::system::error_code code = errc::wrong_type;  // an error_code enum
    CHECK(&code.category() == &category);

    // Each refusal carries the kind of fault beside the field a 422 names.
    CHECK(rejected(R"({"applications": [)").code == errc::invalid_json);
    CHECK(rejected(R"({})").code == errc::missing_field);
    CHECK(rejected(R"({"applications": 1})").code == errc::wrong_type);
    CHECK(rejected(with_metric(R"({"name":"","type":"gauge","value":1})")).code ==
          errc::invalid_value);
    mgw::push::decode_limits one;
    one.max_metrics = 0;
    CHECK(rejected(with_metric(R"({"name":"m","type":"gauge","value":1})"), one).code ==
          errc::limit_exceeded);
    one.max_metrics = 10;
    one.timestamps = mgw::push::timestamp_window{.now_ms = 1'700'000'000'000};
    CHECK(
        rejected(with_metric(R"({"name":"m","type":"gauge","value":1,"timestamp":1})"), one).code ==
        errc::timestamp_out_of_range);
}
