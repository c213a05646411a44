// procfs parsing for the process_* metrics, following the Go client (procfs): CPU and memory
// from <pid>/stat, the fd limit from <pid>/limits, open fds by listing <pid>/fd.
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <unistd.h>

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

#include <mgw/core/process_collector.hpp>

namespace mgw::core {

namespace {

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return std::nullopt;
    }
    return std::move(text).str();
}

std::optional<double> to_number(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// Whitespace-separated fields of `text`.
std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (true) {
        pos = text.find_first_not_of(" \t\n", pos);
        if (pos == std::string_view::npos) {
            break;
        }
        const std::size_t end = text.find_first_of(" \t\n", pos);
        fields.push_back(text.substr(pos, end - pos));
        if (end == std::string_view::npos) {
            break;
        }
        pos = end;
    }
    return fields;
}

std::optional<double> read_boot_time(const std::string& proc_stat) {
    const auto text = read_file(proc_stat);
    if (!text) {
        return std::nullopt;
    }
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with("btime ")) {
            return to_number(std::string_view(line).substr(6));
        }
    }
    return std::nullopt;
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    return prometheus::MetricFamily{std::move(name), std::move(help), type, {metric}};
}

}  // namespace

process_collector::process_collector(std::string proc_self, std::string proc_stat)
    : proc_self_(std::move(proc_self)),
      boot_time_seconds_(read_boot_time(proc_stat)),
      ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))) {}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> families;

    // Fields after the command name, which is in parentheses and may itself hold spaces and
    // parentheses: the last ')' ends it. fields[0] is field 3 (state) of proc(5).
    if (const auto stat = read_file(proc_self_ + "/stat")) {
        const std::size_t paren = stat->rfind(')');
        if (paren != std::string::npos) {
            const auto fields = split_fields(std::string_view(*stat).substr(paren + 1));
            const auto field = [&](std::size_t number) -> std::optional<double> {
                return number - 3 < fields.size() ? to_number(fields[number - 3]) : std::nullopt;
            };
            const auto utime = field(14);
            const auto stime = field(15);
            if (utime && stime && ticks_per_second_ > 0) {
                families.push_back(family(
                    "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    MetricType::Counter, (*utime + *stime) / ticks_per_second_));
            }
            if (const auto vsize = field(23)) {
                families.push_back(family("process_virtual_memory_bytes",
                                          "Virtual memory size in bytes.", MetricType::Gauge,
                                          *vsize));
            }
            if (const auto rss = field(24)) {
                families.push_back(family("process_resident_memory_bytes",
                                          "Resident memory size in bytes.", MetricType::Gauge,
                                          *rss * page_size_));
            }
            const auto start_ticks = field(22);
            if (start_ticks && boot_time_seconds_ && ticks_per_second_ > 0) {
                families.push_back(family("process_start_time_seconds",
                                          "Start time of the process since unix epoch in seconds.",
                                          MetricType::Gauge,
                                          *boot_time_seconds_ + *start_ticks / ticks_per_second_));
            }
        }
    }

    std::error_code ec;
    std::filesystem::directory_iterator fds(proc_self_ + "/fd", ec);
    if (!ec) {
        double open = 0;
        for (auto it = fds; it != std::filesystem::directory_iterator{}; it.increment(ec)) {
            if (ec) {
                break;
            }
            ++open;
        }
        if (!ec) {
            families.push_back(family("process_open_fds", "Number of open file descriptors.",
                                      MetricType::Gauge, open));
        }
    }

    // "Max open files            1024                 524288               files"
    if (const auto limits = read_file(proc_self_ + "/limits")) {
        constexpr std::string_view label = "Max open files";
        const std::size_t at = limits->find(label);
        if (at != std::string::npos) {
            const std::size_t end = limits->find('\n', at);
            const auto fields = split_fields(
                std::string_view(*limits).substr(at + label.size(), end - at - label.size()));
            // "unlimited" has no number; the Go client leaves the metric out as well.
            if (!fields.empty()) {
                if (const auto soft = to_number(fields[0])) {
                    families.push_back(family("process_max_fds",
                                              "Maximum number of open file descriptors.",
                                              MetricType::Gauge, *soft));
                }
            }
        }
    }
    return families;
}

}  // namespace mgw::core
