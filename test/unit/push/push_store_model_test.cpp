// Unit tests: the push store hands scrapes the parsed model directly. It must be exactly what
// reading the 0.0.4 text the store used to render gave (same families, samples, labels and
// value texts, no repair), merge to the same bytes in every output format, and own the bytes
// its views point into, whatever the store does afterwards.
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/push/push_store.hpp>

namespace {

using namespace std::chrono_literals;
using namespace mgw;
using push::push_store;

const push_store::clock::time_point t0{1000h};
constexpr std::int64_t wall_ms = 1'700'000'000'000;

push::push_binding binding() {
    return {.binding_id = "bind-1",
            .app_guid = "app-1",
            .plan_id = "unlimited",
            .limits = {},
            .labels = {{"organization_name", "org"}}};
}

push::push_request request(std::string_view metrics, std::string_view index) {
    std::string body = R"({"applications":[{"id":"app-1","instances":[{"index":")" +
                       std::string(index) + R"(","metrics":[)";
    body += metrics;
    body += "]}]}]}";
    auto result = push::decode_push_request(body);
    REQUIRE(result.has_value());
    return *std::move(result);
}

// The store of these tests: instance 0 with values of every spelling and labels with and
// without escapes, instance 3 with a family of its own and one it shares.
void fill(push_store& store) {
    REQUIRE_FALSE(store.apply(
        binding(),
        request(
            R"({"name":"jvm.memory.used","type":"gauge","value":1.5,"tags":{"area":"heap"}},)"
            R"({"name":"jvm.memory.used","type":"gauge","value":2,"tags":{"area":"non\"heap"}},)"
            R"({"name":"jvm.memory.used","type":"gauge","value":0.5,"tags":{"area":""}},)"
            R"({"name":"requests","type":"counter","value":42},)"
            R"({"name":"big","type":"counter","value":9007199254740993},)"
            R"({"name":"whole","type":"gauge","value":15000000},)"
            R"({"name":"neg.zero","type":"gauge","value":-0.0},)"
            R"({"name":"tiny","type":"gauge","value":1e-300},)"
            R"({"name":"huge","type":"gauge","value":1e300},)"
            R"({"name":"c_total","type":"counter","value":5,"tags":{"k":"v","j":"w"}},)"
            R"({"name":"multi","type":"gauge","value":3,)"
            R"("tags":{"a":"x\\y","b":"line\nbreak","c":"plain"}})",
            "0"),
        t0, wall_ms));
    REQUIRE_FALSE(store.apply(
        binding(),
        request(R"({"name":"jvm.memory.used","type":"gauge","value":7,"tags":{"area":"heap"}},)"
                R"({"name":"only3","type":"gauge","value":-2.25})",
                "3"),
        t0, wall_ms));
}

// What the store rendered for each instance before it built the model directly.
const std::vector<std::string> rendered{
    "# TYPE big counter\n"
    "big 9007199254740993\n"
    "# TYPE c_total counter\n"
    "c_total{j=\"w\",k=\"v\"} 5\n"
    "# TYPE huge gauge\n"
    "huge 1e+300\n"
    "# TYPE jvm_memory_used gauge\n"
    "jvm_memory_used{area=\"\"} 0.5\n"
    "jvm_memory_used{area=\"heap\"} 1.5\n"
    "jvm_memory_used{area=\"non\\\"heap\"} 2\n"
    "# TYPE multi gauge\n"
    "multi{a=\"x\\\\y\",b=\"line\\nbreak\",c=\"plain\"} 3\n"
    "# TYPE neg_zero gauge\n"
    "neg_zero 0\n"
    "# TYPE requests counter\n"
    "requests 42\n"
    "# TYPE tiny gauge\n"
    "tiny 1e-300\n"
    "# TYPE whole gauge\n"
    "whole 15000000\n",
    "# TYPE jvm_memory_used gauge\n"
    "jvm_memory_used{area=\"heap\"} 7\n"
    "# TYPE only3 gauge\n"
    "only3 -2.25\n"};

void check_same_model(const exposition::parsed_exposition& built,
                      const exposition::parsed_exposition& read) {
    CHECK(built.source_format == read.source_format);
    REQUIRE(built.families.size() == read.families.size());
    for (std::size_t i = 0; i < built.families.size(); ++i) {
        const exposition::family& a = built.families[i];
        const exposition::family& b = read.families[i];
        INFO("family " << b.name);
        CHECK(a.name == b.name);
        CHECK(a.type == b.type);
        CHECK(a.has_type == b.has_type);
        CHECK(a.help_present == b.help_present);
        CHECK(a.help == b.help);
        CHECK(a.unit == b.unit);
        CHECK(a.samples.first == b.samples.first);
        CHECK(a.samples.count == b.samples.count);
    }
    REQUIRE(built.samples.size() == read.samples.size());
    for (std::size_t i = 0; i < built.samples.size(); ++i) {
        const exposition::sample& a = built.samples[i];
        const exposition::sample& b = read.samples[i];
        INFO("sample " << b.name << " " << b.value_text);
        CHECK(a.name == b.name);
        CHECK(a.value_text == b.value_text);
        CHECK(a.value == b.value);
        CHECK(std::signbit(a.value) == std::signbit(b.value));
        CHECK(a.timestamp_text == b.timestamp_text);
        CHECK(a.exemplar_index == b.exemplar_index);
        CHECK(a.raw_labels_size == b.raw_labels_size);
        if (b.has_raw_labels()) {
            CHECK(a.raw_labels() == b.raw_labels());
        }
        CHECK(a.labels.first == b.labels.first);
        CHECK(a.labels.count == b.labels.count);
    }
    REQUIRE(built.labels.size() == read.labels.size());
    for (std::size_t i = 0; i < built.labels.size(); ++i) {
        CHECK(built.labels[i].name == read.labels[i].name);
        CHECK(built.labels[i].value == read.labels[i].value);
        CHECK(built.labels[i].name_was_quoted == read.labels[i].name_was_quoted);
        CHECK(built.labels[i].value_has_escapes == read.labels[i].value_has_escapes);
    }
    CHECK(built.exemplars.empty());
    CHECK(built.synthesized_text.empty());
}

// The merged answer of one source with the labels a scrape injects.
std::string merged(const exposition::parsed_exposition& source,
                   const exposition::writer_options& options) {
    static const std::vector<exposition::label> injected{
        {.name = "app_id", .value = "app-1", .name_was_quoted = false, .value_has_escapes = false},
        {.name = "index", .value = "0", .name_was_quoted = false, .value_has_escapes = false},
        {.name = "source", .value = "push", .name_was_quoted = false, .value_has_escapes = false}};
    exposition::merger merger;
    merger.add_source(source, injected);
    return merger.write_all(options);
}

}  // namespace

TEST_CASE("the pushed model is what reading the rendered text gave, repaired in nothing") {
    push_store store;
    fill(store);
    const auto pushed = store.collect("app-1", t0);
    REQUIRE(pushed);
    REQUIRE(pushed->instances.size() == rendered.size());
    CHECK(pushed->instances[0].index == "0");
    CHECK(pushed->instances[1].index == "3");
    for (std::size_t i = 0; i < rendered.size(); ++i) {
        const push::pushed_instance_series& instance = pushed->instances[i];
        exposition::parsed_exposition read;
        exposition::leniency_report repairs;
        // As the answer read it before: leniently, label blocks kept raw when canonical.
        REQUIRE(exposition::read_lenient(rendered[i], exposition::format::prometheus_text, read,
                                         repairs, {},
                                         exposition::label_storage::raw_when_canonical));
        CHECK(repairs.empty());
        check_same_model(instance.series, read);
        std::string written;
        exposition::write_exposition(written, instance.series, {});
        CHECK(written == rendered[i]);
        for (const auto output :
             {exposition::format::prometheus_text, exposition::format::openmetrics}) {
            for (const bool utf8 : {true, false}) {
                const exposition::writer_options options{.output = output, .utf8_names = utf8};
                CHECK(merged(instance.series, options) == merged(read, options));
            }
        }
    }
}

TEST_CASE("the pushed model owns its bytes: the store may change or forget the series") {
    push_store store;
    fill(store);
    auto pushed = store.collect("app-1", t0);
    REQUIRE(pushed);
    // Every view points into the instance's own text, sized once.
    for (const push::pushed_instance_series& instance : pushed->instances) {
        REQUIRE(instance.text);
        const char* const begin = instance.text->data();
        const char* const end = begin + instance.text->size();
        const auto inside = [&](std::string_view view) {
            return view.data() >= begin && view.data() + view.size() <= end;
        };
        for (const exposition::sample& s : instance.series.samples) {
            CHECK(inside(s.name));
            CHECK(inside(s.value_text));
            if (s.has_raw_labels()) {
                CHECK(inside(s.raw_labels()));
            }
        }
        for (const exposition::label& l : instance.series.labels) {
            CHECK(inside(l.name));
            CHECK(inside(l.value));
        }
    }
    // New values, then every series forgotten: what the scrape took is unchanged.
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"requests","type":"counter","value":43})", "0"),
                              t0 + 1s, wall_ms + 1000));
    CHECK(store.sweep(t0 + 1h) == 13);
    CHECK(store.series_count() == 0);
    for (std::size_t i = 0; i < rendered.size(); ++i) {
        std::string written;
        exposition::write_exposition(written, pushed->instances[i].series, {});
        CHECK(written == rendered[i]);
    }
}

TEST_CASE("the pushed model leaves out expired series, and families left without any") {
    push_store store({.ttl = 5min, .max_series_per_app = 100});
    REQUIRE_FALSE(store.apply(binding(),
                              request(R"({"name":"old","type":"gauge","value":1},)"
                                      R"({"name":"kept","type":"gauge","value":1,)"
                                      R"("tags":{"t":"a"}})",
                                      "0"),
                              t0, wall_ms));
    REQUIRE_FALSE(store.apply(
        binding(), request(R"({"name":"kept","type":"gauge","value":2,"tags":{"t":"b"}})", "0"),
        t0 + 4min, wall_ms));
    const auto pushed = store.collect("app-1", t0 + 6min);
    REQUIRE(pushed);
    REQUIRE(pushed->instances.size() == 1);
    const exposition::parsed_exposition& series = pushed->instances[0].series;
    REQUIRE(series.families.size() == 1);
    CHECK(series.families[0].name == "kept");
    CHECK(series.families[0].samples.first == 0);
    CHECK(series.families[0].samples.count == 1);
    REQUIRE(series.samples.size() == 1);
    CHECK(series.samples[0].raw_labels() == "t=\"b\"");
    CHECK(series.samples[0].value_text == "2");
}
