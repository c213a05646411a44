// What a benchmark RSocket client serves: `series` gauges spread over `families` families, each
// sample labelled with the client. One definition for the load client (scripts/bench_rsocket)
// and the in-process benchmarks of the pull (bench_rsocket_pull, bench_rsocket_dedup), so that
// their figures are about the same text.
#pragma once

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace mgw::bench {

inline std::string rsocket_client_exposition(int client, int series = 1000, int families = 50) {
    std::string text;
    const int per_family = std::max(1, series / families);
    int written = 0;
    for (int f = 0; f < families && written < series; ++f) {
        text += fmt::format(
            "# HELP bench_family_{0} A benchmark family.\n# TYPE bench_family_{0} gauge\n", f);
        for (int i = 0; i < per_family && written < series; ++i, ++written) {
            text +=
                fmt::format("bench_family_{}{{app=\"bench-{}\",instance=\"{}\",i=\"{}\"}} {}.5\n",
                            f, client, client, i, i);
        }
    }
    return text;
}

}  // namespace mgw::bench
