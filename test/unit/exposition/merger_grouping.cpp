#include <array>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>

#include "writer_test_support.hpp"

using namespace mgw::exposition;
using mgw::exposition::test::exposition_builder;
using mgw::exposition::test::injected;

namespace {

const writer_options text_output{format::prometheus_text, true};
const writer_options om_output{format::openmetrics, true};

const std::array<label, 2> instance0{injected("app_id", "g1"), injected("instance_id", "0")};
const std::array<label, 2> instance1{injected("app_id", "g1"), injected("instance_id", "1")};

exposition_builder source_a() {
    exposition_builder b(format::prometheus_text);
    b.fam("req_total", metric_type::counter).smp("req_total", {{"code", "200"}}, "1");
    b.fam("mem", metric_type::gauge).smp("mem", {}, "10");
    b.fam("lat", metric_type::histogram)
        .help("Latency")
        .smp("lat_bucket", {{"path", "/a"}, {"le", "1"}}, "1")
        .smp("lat_bucket", {{"path", "/a"}, {"le", "+Inf"}}, "2")
        .smp("lat_sum", {{"path", "/a"}}, "1.5")
        .smp("lat_count", {{"path", "/a"}}, "2");
    return b;
}

exposition_builder source_b() {
    exposition_builder b(format::prometheus_text);
    b.fam("mem", metric_type::gauge).help("Memory").smp("mem", {}, "20");
    b.fam("only_b", metric_type::gauge).smp("only_b", {}, "1");
    b.fam("lat", metric_type::histogram)
        .help("Latency (second instance)")
        .smp("lat_bucket", {{"path", "/b"}, {"le", "1"}}, "0")
        .smp("lat_bucket", {{"path", "/b"}, {"le", "+Inf"}}, "1")
        .smp("lat_sum", {{"path", "/b"}}, "3")
        .smp("lat_count", {{"path", "/b"}}, "1");
    b.fam("req_total", metric_type::counter).smp("req_total", {{"code", "500"}}, "2");
    return b;
}

}  // namespace

TEST_CASE("families are grouped in first-seen order with one metadata block each") {
    const auto a = source_a();
    const auto b = source_b();
    merger m;
    m.add_source(a.get(), instance0);
    m.add_source(b.get(), instance1);
    CHECK(m.write_all(text_output) ==
          R"(# TYPE req_total counter
req_total{code="200",app_id="g1",instance_id="0"} 1
req_total{code="500",app_id="g1",instance_id="1"} 2
# HELP mem Memory
# TYPE mem gauge
mem{app_id="g1",instance_id="0"} 10
mem{app_id="g1",instance_id="1"} 20
# HELP lat Latency
# TYPE lat histogram
lat_bucket{path="/a",le="1",app_id="g1",instance_id="0"} 1
lat_bucket{path="/a",le="+Inf",app_id="g1",instance_id="0"} 2
lat_sum{path="/a",app_id="g1",instance_id="0"} 1.5
lat_count{path="/a",app_id="g1",instance_id="0"} 2
lat_bucket{path="/b",le="1",app_id="g1",instance_id="1"} 0
lat_bucket{path="/b",le="+Inf",app_id="g1",instance_id="1"} 1
lat_sum{path="/b",app_id="g1",instance_id="1"} 3
lat_count{path="/b",app_id="g1",instance_id="1"} 1
# TYPE only_b gauge
only_b{app_id="g1",instance_id="1"} 1
)");
    CHECK(m.family_count() == 4);
    CHECK(m.conflicts().empty());
}

TEST_CASE("colliding source labels become exported_ or are overwritten") {
    exposition_builder b(format::prometheus_text);
    b.fam("m", metric_type::gauge)
        .smp("m", {{"instance", "a"}, {"exported_instance", "b"}, {"job", "j"}}, "1")
        .smp("m", {{"app_id", "own"}}, "2");
    const std::array<label, 2> labels{injected("instance", "10.0.0.1:8080"),
                                      injected("app_id", "x")};

    merger renaming;
    renaming.add_source(b.get(), labels);
    CHECK(renaming.write_all(text_output) ==
          R"(# TYPE m gauge
m{exported_exported_instance="a",exported_instance="b",job="j",instance="10.0.0.1:8080",app_id="x"} 1
m{exported_app_id="own",instance="10.0.0.1:8080",app_id="x"} 2
)");

    merger overwriting(merge_options{collision_policy::overwrite});
    overwriting.add_source(b.get(), labels);
    CHECK(overwriting.write_all(text_output) ==
          R"(# TYPE m gauge
m{exported_instance="b",job="j",instance="10.0.0.1:8080",app_id="x"} 1
m{instance="10.0.0.1:8080",app_id="x"} 2
)");
}

TEST_CASE("a family whose TYPE conflicts is skipped and reported") {
    exposition_builder first(format::prometheus_text);
    first.fam("x", metric_type::gauge).smp("x", {}, "1");
    exposition_builder second(format::prometheus_text);
    second.fam("x", metric_type::counter).smp("x", {}, "5");
    second.fam("y", metric_type::gauge).smp("y", {}, "2");
    exposition_builder third(format::openmetrics);
    third.fam("x", metric_type::unknown).smp("x", {}, "7");
    third.fam("x", metric_type::gauge).smp("x", {{"k", "v"}}, "3");

    merger m;
    m.add_source(first.get(), instance0);
    m.add_source(second.get(), instance1);
    m.add_source(third.get());
    CHECK(m.write_all(text_output) ==
          R"(# TYPE x gauge
x{app_id="g1",instance_id="0"} 1
x{k="v"} 3
# TYPE y gauge
y{app_id="g1",instance_id="1"} 2
)");
    // The counter `x` (0.0.4, no `_total`) is family `x` in both formats, like the gauge, and
    // so is the unknown `x`: both differ in TYPE, reported in source order.
    REQUIRE(m.conflicts().size() == 2);
    CHECK(m.conflicts()[0].source == 1);
    CHECK(m.conflicts()[0].family == "x");
    CHECK(m.conflicts()[0].expected == metric_type::gauge);
    CHECK(m.conflicts()[0].found == metric_type::counter);
    CHECK(m.conflicts()[1].source == 2);
    CHECK(m.conflicts()[1].family == "x");
    CHECK(m.conflicts()[1].expected == metric_type::gauge);
    CHECK(m.conflicts()[1].found == metric_type::unknown);
    CHECK(m.family_count() == 2);
}

TEST_CASE("families that clash only in one format are dropped only there") {
    // What every Go client exposes: gauge `a` and counter `a_total`, distinct in 0.0.4, both
    // family `a` in OpenMetrics.
    exposition_builder go(format::prometheus_text);
    go.fam("go_memstats_alloc_bytes", metric_type::gauge).smp("go_memstats_alloc_bytes", {}, "5");
    go.fam("go_memstats_alloc_bytes_total", metric_type::counter)
        .smp("go_memstats_alloc_bytes_total", {}, "9");
    merger m;
    m.add_source(go.get());
    CHECK(m.write_all(text_output) == R"(# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 5
# TYPE go_memstats_alloc_bytes_total counter
go_memstats_alloc_bytes_total 9
)");
    CHECK(m.conflicts().empty());
    CHECK(m.write_all(om_output) == R"(# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 5
# EOF
)");
    REQUIRE(m.conflicts().size() == 1);
    CHECK(m.conflicts()[0].family == "go_memstats_alloc_bytes");
    CHECK(m.conflicts()[0].expected == metric_type::gauge);
    CHECK(m.conflicts()[0].found == metric_type::counter);

    // OpenMetrics counter `a` and a 0.0.4 gauge `a_total`: both write samples `a_total`.
    exposition_builder om(format::openmetrics);
    om.fam("a", metric_type::counter).smp("a_total", {}, "1");
    exposition_builder text(format::prometheus_text);
    text.fam("a_total", metric_type::gauge).smp("a_total", {}, "2");
    merger mixed;
    mixed.add_source(text.get());
    mixed.add_source(om.get());
    CHECK(mixed.write_all(text_output) == "# TYPE a_total gauge\na_total 2\n");
    REQUIRE(mixed.conflicts().size() == 1);
    CHECK(mixed.conflicts()[0].source == 1);
    CHECK(mixed.conflicts()[0].found == metric_type::counter);
    CHECK(mixed.write_all(om_output) == "# TYPE a_total gauge\na_total 2\n# EOF\n");
    CHECK(mixed.conflicts().size() == 1);
}

TEST_CASE("an OpenMetrics counter and the same 0.0.4 counter land in one family") {
    exposition_builder om(format::openmetrics);
    om.fam("a", metric_type::counter)
        .help("Things")
        .smp("a_total", {}, "1", "2.5")
        .exemplar({{"trace_id", "t"}}, "1")
        .smp("a_created", {}, "1.7e9");
    exposition_builder text(format::prometheus_text);
    text.fam("a_total", metric_type::counter).help("Other help").smp("a_total", {}, "2", "3000");

    merger m;
    m.add_source(om.get(), instance0);
    m.add_source(text.get(), instance1);
    CHECK(m.write_all(text_output) ==
          R"(# HELP a_total Things
# TYPE a_total counter
a_total{app_id="g1",instance_id="0"} 1 2500
a_total{app_id="g1",instance_id="1"} 2 3000
# HELP a_created Things
# TYPE a_created gauge
a_created{app_id="g1",instance_id="0"} 1.7e9
)");
    CHECK(m.write_all(om_output) ==
          R"(# HELP a Things
# TYPE a counter
a_total{app_id="g1",instance_id="0"} 1 2.5 # {trace_id="t"} 1
a_created{app_id="g1",instance_id="0"} 1.7e9
a_total{app_id="g1",instance_id="1"} 2 3
# EOF
)");
    CHECK(m.family_count() == 1);

    // The other way round: the 0.0.4 source names the family and gives the HELP.
    merger reversed;
    reversed.add_source(text.get(), instance1);
    reversed.add_source(om.get(), instance0);
    CHECK(reversed.write_all(om_output) ==
          R"(# HELP a Other help
# TYPE a counter
a_total{app_id="g1",instance_id="1"} 2 3
a_total{app_id="g1",instance_id="0"} 1 2.5 # {trace_id="t"} 1
a_created{app_id="g1",instance_id="0"} 1.7e9
# EOF
)");
}

TEST_CASE("synthetic families are just another source") {
    const auto a = source_a();
    exposition_builder synthetic(format::prometheus_text);
    synthetic.fam("promfetcher_scrape_error", metric_type::counter)
        .help("Promfetcher scrap error on your instance")
        .smp("promfetcher_scrape_error",
             {{"app_id", "g1"}, {"error", R"(connection refused\n)"}, {"instance_id", "1"}}, "1");
    synthetic.fam("mem", metric_type::gauge).smp("mem", {{"synthetic", "yes"}}, "0");

    merger m;
    m.add_source(a.get(), instance0);
    m.add_source(synthetic.get());
    const std::string out = m.write_all(text_output);
    CHECK(out.find(R"(# TYPE promfetcher_scrape_error counter
promfetcher_scrape_error{app_id="g1",error="connection refused\n",instance_id="1"} 1
)") != std::string::npos);
    CHECK(out.find(R"(mem{app_id="g1",instance_id="0"} 10
mem{synthetic="yes"} 0
)") != std::string::npos);
}

TEST_CASE("write_some streams the same bytes in bounded chunks") {
    const auto a = source_a();
    const auto b = source_b();
    exposition_builder om(format::openmetrics);
    om.fam("c", metric_type::counter)
        .smp("c_total", {}, "1")
        .smp("c_created", {}, "1")
        .smp("c_total", {{"x", "y"}}, "1")
        .smp("c_created", {{"x", "y"}}, "1");
    om.fam("gh", metric_type::gaugehistogram)
        .smp("gh_bucket", {{"le", "+Inf"}}, "1")
        .smp("gh_gcount", {}, "1")
        .smp("gh_gsum", {}, "1");
    merger m;
    m.add_source(a.get(), instance0);
    m.add_source(om.get(), instance1);
    m.add_source(b.get(), instance1);

    for (const writer_options& opts : {text_output, om_output}) {
        const std::string whole = m.write_all(opts);
        for (std::size_t limit : {std::size_t(1), std::size_t(7), std::size_t(100)}) {
            m.start(opts);
            std::string streamed;
            std::size_t calls = 0;
            bool done = false;
            while (!done) {
                std::string chunk;
                done = m.write_some(chunk, limit);
                ++calls;
                CHECK((done || chunk.size() >= limit));
                streamed += chunk;
                REQUIRE(calls < 10'000);
            }
            CHECK(streamed == whole);
            CHECK(calls > whole.size() / (limit + 120));
            std::string after;
            CHECK(m.write_some(after, limit));
            CHECK(after.empty());
        }
    }
    CHECK(m.write_all(text_output)
              .find("# TYPE c_created gauge\nc_created{app_id=\"g1\","
                    "instance_id=\"1\"} 1\nc_created{x=\"y\",app_id=\"g1\","
                    "instance_id=\"1\"} 1\n# TYPE gh histogram\n") != std::string::npos);
}

TEST_CASE("empty merges and reuse after clear") {
    merger m;
    CHECK(m.write_all(text_output).empty());
    CHECK(m.write_all(om_output) == "# EOF\n");

    const auto a = source_a();
    m.add_source(a.get(), instance0);
    CHECK(m.write_all(text_output).find("mem{app_id=\"g1\",instance_id=\"0\"} 10\n") !=
          std::string::npos);
    m.clear();
    exposition_builder only(format::prometheus_text);
    only.fam("z", metric_type::gauge).smp("z", {}, "1");
    m.add_source(only.get());
    CHECK(m.write_all(text_output) == "# TYPE z gauge\nz 1\n");
}

TEST_CASE("an untyped family holding several sample names is split by name") {
    // What a parser may produce for a summary exposed without metadata.
    exposition_builder b(format::prometheus_text);
    b.fam("rpc", metric_type::unknown, false)
        .help("RPC latency")
        .smp("rpc", {{"quantile", "0.5"}}, "1")
        .smp("rpc_sum", {}, "2")
        .smp("rpc_count", {}, "3")
        .smp("rpc", {{"quantile", "0.9"}}, "4");
    exposition_builder other(format::prometheus_text);
    other.fam("rpc_count", metric_type::unknown, false).smp("rpc_count", {{"i", "1"}}, "5");
    merger m;
    m.add_source(b.get());
    m.add_source(other.get());
    const std::string expected = R"(# HELP rpc RPC latency
# TYPE rpc unknown
rpc{quantile="0.5"} 1
rpc{quantile="0.9"} 4
# TYPE rpc_sum unknown
rpc_sum 2
# TYPE rpc_count unknown
rpc_count 3
rpc_count{i="1"} 5
# EOF
)";
    CHECK(m.write_all(om_output) == expected);
    CHECK(m.family_count() == 3);
    CHECK(m.conflicts().empty());
}

TEST_CASE("client_python's 0.0.4 _created gauges clash with OpenMetrics _created samples") {
    // client_python in 0.0.4: counter `a_total` plus gauge `a_created`, histogram `h` plus
    // gauge `h_created`. Valid 0.0.4; in OpenMetrics the gauges would clash with `a`/`h`.
    exposition_builder b(format::prometheus_text);
    b.fam("a_total", metric_type::counter).smp("a_total", {}, "1");
    b.fam("a_created", metric_type::gauge).smp("a_created", {}, "1.7e9");
    b.fam("h", metric_type::histogram).smp("h_bucket", {{"le", "+Inf"}}, "0");
    b.fam("h_created", metric_type::gauge).smp("h_created", {}, "1.7e9");
    exposition_builder om(format::openmetrics);
    om.fam("i", metric_type::info).smp("i_info", {}, "1");
    exposition_builder text(format::prometheus_text);
    text.fam("i_info", metric_type::gauge).smp("i_info", {{"x", "y"}}, "1");

    merger m;
    m.add_source(b.get());
    const std::string text_out = m.write_all(text_output);
    CHECK(text_out.find("# TYPE a_created gauge\na_created 1.7e9\n") != std::string::npos);
    CHECK(text_out.find("# TYPE h_created gauge\nh_created 1.7e9\n") != std::string::npos);
    CHECK(m.conflicts().empty());
    CHECK(m.write_all(om_output) ==
          "# TYPE a counter\na_total 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\n# EOF\n");
    CHECK(m.conflicts().size() == 2);

    merger info;
    info.add_source(om.get());
    info.add_source(text.get());
    CHECK(info.write_all(text_output) == "# TYPE i_info gauge\ni_info 1\n");
    CHECK(info.conflicts().size() == 1);
    CHECK(info.write_all(om_output) == "# TYPE i info\ni_info 1\n# EOF\n");
    CHECK(info.conflicts().size() == 1);
}
