// The gateway registry and the process collector: fixture procfs for exact values, the real
// /proc/self for sanity, and the 0.0.4 text output.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <prometheus/counter.h>

#include <mgw/core/metrics.hpp>
#include <mgw/core/process_collector.hpp>
#include <mgw/core/version.hpp>

using mgw::core::gateway_metrics;
using mgw::core::process_collector;

namespace {

struct sample {
    std::string help;
    prometheus::MetricType type;
    double value;
};

std::map<std::string, sample> by_name(const std::vector<prometheus::MetricFamily>& families) {
    std::map<std::string, sample> out;
    for (const auto& f : families) {
        REQUIRE(f.metric.size() == 1);
        const auto& m = f.metric.front();
        out[f.name] = {f.help, f.type,
                       f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value};
    }
    return out;
}

// A throwaway /proc/<pid> look-alike.
class fake_proc {
  public:
    fake_proc() {
        char dir_template[] = "/tmp/mgw-proc-test-XXXXXX";
        REQUIRE(::mkdtemp(dir_template) != nullptr);
        root_ = dir_template;
        std::filesystem::create_directory(root_ / "fd");
    }
    fake_proc(const fake_proc&) = delete;
    fake_proc& operator=(const fake_proc&) = delete;
    ~fake_proc() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(root_ / name) << text;
    }
    std::string path() const { return root_.string(); }

  private:
    std::filesystem::path root_;
};

}  // namespace

TEST_CASE("process_collector parses stat, limits and fd of a procfs fixture", "[metrics]") {
    fake_proc proc;
    // The command name holds ") (" to check that the last ')' ends it.
    proc.write("stat",
               "4242 (mgw) (x y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 3 0 "
               "6000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 "
               "0\n");
    proc.write("limits",
               "Limit                     Soft Limit           Hard Limit           Units     \n"
               "Max cpu time              unlimited            unlimited            seconds   \n"
               "Max open files            4096                 524288               files     \n");
    proc.write("stat.host", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 12\n");
    for (const char* fd : {"0", "1", "2", "7"}) {
        proc.write(std::string("fd/") + fd, "");
    }
    const process_collector collector(proc.path(), proc.path() + "/stat.host");
    const auto metrics = by_name(collector.Collect());
    REQUIRE(metrics.size() == 6);

    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    const auto& cpu = metrics.at("process_cpu_seconds_total");
    CHECK(cpu.type == prometheus::MetricType::Counter);
    CHECK(cpu.help == "Total user and system CPU time spent in seconds.");
    CHECK(cpu.value == Approx(400 / ticks));
    CHECK(metrics.at("process_virtual_memory_bytes").value == 104857600);
    CHECK(metrics.at("process_virtual_memory_bytes").help == "Virtual memory size in bytes.");
    CHECK(metrics.at("process_resident_memory_bytes").value == 2560 * page);
    CHECK(metrics.at("process_resident_memory_bytes").help == "Resident memory size in bytes.");
    CHECK(metrics.at("process_start_time_seconds").value == Approx(1700000000 + 6000 / ticks));
    CHECK(metrics.at("process_start_time_seconds").help ==
          "Start time of the process since unix epoch in seconds.");
    CHECK(metrics.at("process_open_fds").value == 4);
    CHECK(metrics.at("process_open_fds").help == "Number of open file descriptors.");
    CHECK(metrics.at("process_max_fds").value == 4096);
    CHECK(metrics.at("process_max_fds").help == "Maximum number of open file descriptors.");
    for (const auto& [name, s] : metrics) {
        INFO(name);
        if (name != "process_cpu_seconds_total") {
            CHECK(s.type == prometheus::MetricType::Gauge);
        }
    }
}

TEST_CASE("process_collector leaves out what it cannot read", "[metrics]") {
    fake_proc proc;
    proc.write("stat", "4242 (truncated");
    proc.write("limits", "Max open files            unlimited            unlimited  files\n");
    const process_collector collector(proc.path(), proc.path() + "/missing");
    const auto metrics = by_name(collector.Collect());
    CHECK(metrics.size() == 1);
    CHECK(metrics.count("process_open_fds") == 1);

    const process_collector nothing("/nonexistent/mgw", "/nonexistent/stat");
    CHECK(nothing.Collect().empty());
}

TEST_CASE("process_collector reports sane values for this process", "[metrics]") {
    const auto metrics = by_name(process_collector().Collect());
    REQUIRE(metrics.size() == 6);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(metrics.at("process_cpu_seconds_total").value >= 0);
    CHECK(metrics.at("process_resident_memory_bytes").value > 1024 * 1024);
    CHECK(metrics.at("process_virtual_memory_bytes").value >
          metrics.at("process_resident_memory_bytes").value);
    CHECK(metrics.at("process_open_fds").value >= 3);
    CHECK(metrics.at("process_max_fds").value >= metrics.at("process_open_fds").value);
    CHECK(metrics.at("process_start_time_seconds").value <= now + 1);
    CHECK(metrics.at("process_start_time_seconds").value > now - 3600);
}

TEST_CASE("gateway_metrics serializes registered metrics and process metrics", "[metrics]") {
    gateway_metrics metrics;
    auto& requests = prometheus::BuildCounter()
                         .Name("mgw_test_requests_total")
                         .Help("Requests seen by the test.")
                         .Register(metrics.registry());
    requests.Add({{"path", "/x"}}).Increment(3);

    const std::string text = metrics.serialize();
    INFO(text);
    CHECK(text.find("# HELP mgw_test_requests_total Requests seen by the test.\n"
                    "# TYPE mgw_test_requests_total counter\n"
                    "mgw_test_requests_total{path=\"/x\"} 3\n") != std::string::npos);
    CHECK(text.find("mgw_build_info{version=\"" + std::string(mgw::core::version()) + "\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ") !=
          std::string::npos);
    for (const char* name : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                             "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
        INFO(name);
        CHECK(text.find(std::string("# TYPE ") + name + " gauge\n" + name + " ") !=
              std::string::npos);
    }

    const auto families = metrics.collect();
    for (std::size_t i = 1; i < families.size(); ++i) {
        CHECK(families[i - 1].name <= families[i].name);
    }
    CHECK(metrics.shared_registry().get() == &metrics.registry());
}

TEST_CASE("gateway_metrics takes another process collector", "[metrics]") {
    gateway_metrics metrics(std::make_shared<process_collector>("/nonexistent/mgw"));
    const auto families = metrics.collect();
    REQUIRE(families.size() == 1);
    CHECK(families.front().name == "mgw_build_info");
    CHECK(mgw::core::version() == "0.1.0");
}
