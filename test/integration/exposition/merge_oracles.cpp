// Merges realistic scrape bodies (0.0.4 and OpenMetrics, colliding labels, a TYPE conflict, a
// synthetic error family) and has independent parsers judge the result: promtool for 0.0.4,
// python3-prometheus-client's 0.0.4 and OpenMetrics parsers for both formats.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

using namespace mgw::exposition;

namespace {

// clang-format off
const std::string instance0_body =
R"(# HELP http_requests_total Total HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"} 3 1395066363000
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.1e+07
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/",le="0.05"} 24054
http_request_duration_seconds_bucket{handler="/",le="0.1"} 33444
http_request_duration_seconds_bucket{handler="/",le="+Inf"} 144320
http_request_duration_seconds_sum{handler="/"} 53423
http_request_duration_seconds_count{handler="/"} 144320
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# HELP build_info Build information with "quotes" and a \\ backslash.
# TYPE build_info gauge
build_info{version="1.2.3",path="C:\\app\\bin",note="say \"hi\"\nbye",instance="container-a"} 1
legacy_untyped_thing{kind="x"} 42
)";

const std::string instance1_body =
R"(# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 998
# TYPE process_resident_memory_bytes untyped
process_resident_memory_bytes 3.5e+07
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/api",le="0.05"} 1
http_request_duration_seconds_bucket{handler="/api",le="0.1"} 1
http_request_duration_seconds_bucket{handler="/api",le="+Inf"} 2
http_request_duration_seconds_sum{handler="/api"} 0.5
http_request_duration_seconds_count{handler="/api"} 2
# HELP jvm_threads_live_threads Live threads.
# TYPE jvm_threads_live_threads gauge
jvm_threads_live_threads{app_id="spoofed",exported_app_id="x"} 17
# TYPE build_info gauge
build_info{version="1.2.4",path="",note="",instance="container-b"} 1
)";

const std::string instance2_body =
R"(# TYPE http_requests counter
# HELP http_requests Total HTTP requests.
http_requests_total{method="get",code="200"} 55 1395066363.5 # {trace_id="0af7651916cd43dd"} 1 1395066363.1
http_requests_created{method="get",code="200"} 1395066000 1395066363.5
# TYPE http_request_duration_seconds histogram
# UNIT http_request_duration_seconds seconds
http_request_duration_seconds_bucket{handler="/om",le="0.05"} 1
http_request_duration_seconds_bucket{handler="/om",le="0.1"} 2 # {trace_id="abc"} 0.07
http_request_duration_seconds_bucket{handler="/om",le="+Inf"} 3
http_request_duration_seconds_sum{handler="/om"} 0.2
http_request_duration_seconds_count{handler="/om"} 3
http_request_duration_seconds_created{handler="/om"} 1395066000
# TYPE app info
app_info{version="2.0"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue_depth gaugehistogram
queue_depth_bucket{le="10.0"} 4
queue_depth_bucket{le="+Inf"} 5
queue_depth_gcount 5
queue_depth_gsum 20
# EOF
)";

const std::string synthetic_body =
R"(# HELP promfetcher_scrape_error Promfetcher scrap error on your instance
# TYPE promfetcher_scrape_error counter
promfetcher_scrape_error{app_id="c1b2a3d4",error="Get \"https://10.0.1.5:61001/metrics\": dial tcp: connection refused",index="3",instance="10.0.1.5:61001",instance_id="3"} 1
)";

// Reads every family with python3-prometheus-client and prints `name type samples`, plus the
// sorted label names of build_info samples and the number of exemplars.
const char* const python_oracle = R"(
import sys
from prometheus_client.parser import text_string_to_metric_families as text_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
kind, path = sys.argv[1], sys.argv[2]
with open(path, encoding='utf-8') as f:
    text = f.read()
families = om_families(text) if kind == 'om' else text_families(text)
exemplars = 0
for family in families:
    print(family.name, family.type, len(family.samples))
    for s in family.samples:
        if s.exemplar is not None:
            exemplars += 1
        if family.name == 'build_info':
            print('  ' + ','.join(k + '=' + v for k, v in sorted(s.labels.items())))
print('exemplars', exemplars)
)";
// clang-format on

struct command_result {
    int exit_code = -1;
    std::string output;
};

command_result run(const std::string& command) {
    command_result result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        result.output.append(buffer.data(), n);
    }
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "mgw-merge-oracles-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::filesystem::path write(const std::string& name, const std::string& content) const {
        const auto file = path / name;
        std::ofstream(file, std::ios::binary) << content;
        return file;
    }
};

std::array<label, 9> cf_labels(std::string_view index, std::string_view address) {
    auto l = [](std::string_view name, std::string_view value) {
        label x;
        x.name = name;
        x.value = value;
        return x;
    };
    return {l("organization_id", "8a2d1c7e"),
            l("space_id", "3f6e9b21"),
            l("app_id", "c1b2a3d4"),
            l("organization_name", "platform-org"),
            l("space_name", "production"),
            l("app_name", R"(orders \"svc\")"),
            l("index", index),
            l("instance_id", index),
            l("instance", address)};
}

struct merged_fixture {
    std::array<parsed_exposition, 4> parsed;
    std::array<label, 9> labels0 = cf_labels("0", "10.0.1.3:61000");
    std::array<label, 9> labels1 = cf_labels("1", "10.0.1.4:61002");
    std::array<label, 9> labels2 = cf_labels("2", "10.0.1.6:61004");
    merger merge;

    merged_fixture() {
        // `orders \"svc\"` is an already-escaped value, as the merger's contract requires.
        for (auto* set : {&labels0, &labels1, &labels2}) {
            (*set)[5].value_has_escapes = true;
        }
        const std::array<std::pair<const std::string*, format>, 4> bodies{{
            {&instance0_body, format::prometheus_text},
            {&instance1_body, format::prometheus_text},
            {&instance2_body, format::openmetrics},
            {&synthetic_body, format::prometheus_text},
        }};
        for (std::size_t i = 0; i < bodies.size(); ++i) {
            if (const parse_result read = parse(*bodies[i].first, bodies[i].second, parsed[i]);
                !read) {
                FAIL("body " << i << ": " << read.error().message());
            }
        }
        merge.add_source(parsed[0], labels0);
        merge.add_source(parsed[1], labels1);
        merge.add_source(parsed[2], labels2);
        merge.add_source(parsed[3]);
    }
};

std::string python(const std::filesystem::path& file, const char* kind, const temp_dir& dir) {
    const auto script = dir.write("oracle.py", python_oracle);
    const command_result r =
        run("/usr/bin/python3 " + script.string() + " " + kind + " " + file.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return r.output;
}

}  // namespace

TEST_CASE("merged 0.0.4 output passes promtool and python3-prometheus-client") {
    merged_fixture fixture;
    const std::string text =
        fixture.merge.write_all(writer_options{format::prometheus_text, false});
    REQUIRE(fixture.merge.conflicts().size() == 1);
    CHECK(fixture.merge.conflicts()[0].source == 1);
    CHECK(fixture.merge.conflicts()[0].family == "process_resident_memory_bytes");
    CHECK(fixture.merge.conflicts()[0].expected == metric_type::gauge);
    CHECK(fixture.merge.conflicts()[0].found == metric_type::unknown);

    temp_dir dir;
    const auto file = dir.write("merged.prom", text);
    INFO(text);

    // promtool exits 3 for lint findings only (e.g. the counter without _total); errors would
    // be reported as "error while linting".
    const command_result lint = run("promtool check metrics < " + file.string());
    INFO(lint.output);
    CHECK((lint.exit_code == 0 || lint.exit_code == 3));
    CHECK(lint.output.find("error while linting") == std::string::npos);
    CHECK(lint.output.find("parsing error") == std::string::npos);
    CHECK(lint.output.find("promfetcher_scrape_error") != std::string::npos);

    // Our own parser accepts it too, and re-merging it alone is a fixed point.
    parsed_exposition reparsed;
    if (const parse_result read = parse(text, format::prometheus_text, reparsed); !read) {
        FAIL(read.error().message());
    }
    merger again;
    again.add_source(reparsed);
    CHECK(again.write_all(writer_options{format::prometheus_text, false}) == text);

    CHECK(python(file, "text", dir) ==
          "http_requests counter 4\n"
          "http_requests_created gauge 1\n"
          "process_resident_memory_bytes gauge 1\n"
          "http_request_duration_seconds histogram 15\n"
          "http_request_duration_seconds_created gauge 1\n"
          "rpc_duration_seconds summary 4\n"
          "build_info gauge 2\n"
          "  app_id=c1b2a3d4,app_name=orders \"svc\",exported_instance=container-a,"
          "index=0,instance=10.0.1.3:61000,instance_id=0,note=say \"hi\"\nbye,"
          "organization_id=8a2d1c7e,organization_name=platform-org,path=C:\\app\\bin,"
          "space_id=3f6e9b21,space_name=production,version=1.2.3\n"
          "  app_id=c1b2a3d4,app_name=orders \"svc\",exported_instance=container-b,"
          "index=1,instance=10.0.1.4:61002,instance_id=1,note=,"
          "organization_id=8a2d1c7e,organization_name=platform-org,path=,"
          "space_id=3f6e9b21,space_name=production,version=1.2.4\n"
          "legacy_untyped_thing unknown 1\n"
          "jvm_threads_live_threads gauge 1\n"
          "app_info gauge 1\n"
          "feature gauge 2\n"
          "queue_depth histogram 2\n"
          "queue_depth_gcount gauge 1\n"
          "queue_depth_gsum gauge 1\n"
          "promfetcher_scrape_error counter 1\n"
          "exemplars 0\n");
}

TEST_CASE("merged OpenMetrics output passes python3-prometheus-client's strict parser") {
    merged_fixture fixture;
    const std::string text = fixture.merge.write_all(writer_options{format::openmetrics, false});
    temp_dir dir;
    const auto file = dir.write("merged.om", text);
    INFO(text);

    parsed_exposition reparsed;
    if (const parse_result read = parse(text, format::openmetrics, reparsed); !read) {
        FAIL(read.error().message());
    }

    CHECK(python(file, "om", dir) ==
          "http_requests counter 5\n"
          "process_resident_memory_bytes gauge 1\n"
          "http_request_duration_seconds histogram 16\n"
          "rpc_duration_seconds summary 4\n"
          "build_info gauge 2\n"
          "  app_id=c1b2a3d4,app_name=orders \"svc\",exported_instance=container-a,"
          "index=0,instance=10.0.1.3:61000,instance_id=0,note=say \"hi\"\nbye,"
          "organization_id=8a2d1c7e,organization_name=platform-org,path=C:\\app\\bin,"
          "space_id=3f6e9b21,space_name=production,version=1.2.3\n"
          "  app_id=c1b2a3d4,app_name=orders \"svc\",exported_instance=container-b,"
          "index=1,instance=10.0.1.4:61002,instance_id=1,note=,"
          "organization_id=8a2d1c7e,organization_name=platform-org,path=,"
          "space_id=3f6e9b21,space_name=production,version=1.2.4\n"
          "legacy_untyped_thing unknown 1\n"
          "jvm_threads_live_threads gauge 1\n"
          "app info 1\n"
          "feature stateset 2\n"
          "queue_depth gaugehistogram 4\n"
          "promfetcher_scrape_error counter 1\n"
          "exemplars 2\n");
}
