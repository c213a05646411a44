// The pure part of the fleet and platform-load benchmarks' driver (bench/fleet/fleet_driver):
// counting instances up and down in a streamed merged answer, the phase at which a Prometheus-like
// client scrapes each app, and the rule that says whether a platform-load step was sustained.
// Kept free of I/O so that test/unit/fleet_bench checks the verdicts the benchmark reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleet_bench {

// Counts the gateway's mgw_scrape_up lines in a streamed exposition (split anywhere), by value.
class up_counter {
  public:
    void feed(std::string_view data) {
        std::size_t pos = 0;
        while (pos < data.size()) {
            if (at_line_start_) {
                at_line_start_ = false;
                keeping_ = true;
                line_.clear();
            }
            const void* found = std::memchr(data.data() + pos, '\n', data.size() - pos);
            const std::size_t end =
                found != nullptr
                    ? static_cast<std::size_t>(static_cast<const char*>(found) - data.data())
                    : data.size();
            if (keeping_) {
                keep(data.substr(pos, end - pos));
            }
            if (found != nullptr) {
                if (keeping_ && line_.size() >= prefix.size()) {
                    const std::string_view value =
                        std::string_view(line_).substr(line_.rfind(' ') + 1);
                    (value == "1" ? up_ : down_) += 1;
                }
                at_line_start_ = true;
                pos = end + 1;
            } else {
                pos = end;
            }
        }
    }

    std::size_t up() const { return up_; }
    std::size_t down() const { return down_; }

  private:
    static constexpr std::string_view prefix = "mgw_scrape_up{";

    // Only lines that may still be mgw_scrape_up lines are copied, and only their first bytes
    // until that is decided.
    void keep(std::string_view segment) {
        if (line_.size() < prefix.size()) {
            const std::size_t take = std::min(prefix.size() - line_.size(), segment.size());
            line_.append(segment.substr(0, take));
            if (!prefix.starts_with(line_)) {
                keeping_ = false;
                return;
            }
            segment.remove_prefix(take);
        }
        line_.append(segment);
    }

    std::string line_;
    bool at_line_start_ = true;
    bool keeping_ = false;
    std::size_t up_ = 0;
    std::size_t down_ = 0;
};

// Where in the interval a target's scrapes start. Prometheus' scrape loop first waits
// (hash(target labels) ^ jitter seed) % interval, so the targets of a pool are spread over the
// interval and each keeps its phase from one scrape to the next. FNV-1a of the path, finished by
// splitmix64's mixer so that paths differing in one digit land far apart, stands in for it.
inline double scrape_phase_seconds(std::string_view target, double interval_seconds) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const char c : target) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    const auto interval_us = static_cast<std::uint64_t>(interval_seconds * 1e6);
    return static_cast<double>(h % std::max<std::uint64_t>(interval_us, 1)) / 1e6;
}

// One scrape of one app, as the driver saw it.
struct platform_answer {
    std::size_t app = 0;
    std::size_t round = 0;
    bool measured = false;   // in the measured intervals (not the warm-up)
    double scheduled_s = 0;  // since the run's start
    double start_lag_s = 0;  // how late the driver started it (its own load)
    double latency_s = 0;    // start to last byte, or to abandonment
    unsigned status = 0;     // 0: no answer head
    std::size_t up = 0;      // mgw_scrape_up lines by value
    std::size_t down = 0;
    std::size_t wire_bytes = 0;
    std::size_t decoded_bytes = 0;
    bool finished = false;   // the whole answer was read
    bool timed_out = false;  // abandoned at the scrape timeout, as Prometheus does
    std::string error;       // what failed, when something did
};

// Complete: the whole answer, 200, and every instance up (`expect_up` of them when known).
inline bool answer_complete(const platform_answer& a, std::optional<std::size_t> expect_up) {
    return a.finished && a.status == 200 && a.down == 0 &&
           (expect_up ? a.up == *expect_up : a.up > 0);
}

// Within its deadline: the last byte read before the scrape timeout elapsed.
inline bool answer_in_time(const platform_answer& a, double scrape_timeout_seconds) {
    return a.finished && !a.timed_out && a.latency_s <= scrape_timeout_seconds;
}

struct platform_verdict {
    std::size_t measured = 0;
    std::size_t complete = 0;
    std::size_t in_time = 0;
    std::size_t timed_out = 0;
    std::size_t errors = 0;  // neither finished nor timed out: transport or HTTP failure
    bool answers_ok = false;
    bool cpu_ok = false;
    bool sustained = false;
};

// The benchmark's rule: every measured answer complete and in time, and the gateway at most
// `max_cores` on average over the measured intervals. No answer at all is not a pass.
inline platform_verdict judge_platform(const std::vector<platform_answer>& answers,
                                       std::optional<std::size_t> expect_up,
                                       double scrape_timeout_seconds, double gateway_cores,
                                       double max_cores) {
    platform_verdict v;
    for (const platform_answer& a : answers) {
        if (!a.measured) {
            continue;
        }
        ++v.measured;
        v.complete += answer_complete(a, expect_up) ? 1 : 0;
        v.in_time += answer_in_time(a, scrape_timeout_seconds) ? 1 : 0;
        v.timed_out += a.timed_out ? 1 : 0;
        v.errors += !a.finished && !a.timed_out ? 1 : 0;
    }
    v.answers_ok = v.measured > 0 && v.complete == v.measured && v.in_time == v.measured;
    v.cpu_ok = gateway_cores >= 0 && gateway_cores <= max_cores;
    v.sustained = v.answers_ok && v.cpu_ok;
    return v;
}

}  // namespace fleet_bench
