// BOSH module: `metrics-gateway hm-plugin`, the process BOSH HM's JSON plugin starts. It reads
// HM's event lines from stdin without ever blocking HM and forwards them to the ingest port.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <mgw/core/log.hpp>

namespace mgw::bosh {

struct hm_plugin_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 25594;
    int input_fd = 0;
    // Lines read but not yet acknowledged by the gateway (while disconnected, or in flight).
    // Past either bound new lines are dropped, counted and logged.
    std::size_t buffer_lines = 100'000;
    std::size_t buffer_bytes = std::size_t{64} << 20;
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    std::chrono::milliseconds write_timeout{5000};
    // After stdin's EOF: how long to keep trying to deliver what is buffered.
    std::chrono::milliseconds flush_timeout{10000};
};

struct hm_plugin_totals {
    std::uint64_t read = 0;       // lines read from stdin
    std::uint64_t delivered = 0;  // lines acknowledged by the gateway
    std::uint64_t dropped = 0;    // lines lost to a full buffer
    std::uint64_t unsent = 0;     // lines still buffered when the plugin gave up
};

// Runs until stdin's EOF and a flush. Exit code: 0 when everything read was delivered (or
// dropped for a full buffer, which was logged), 1 when buffered lines had to be abandoned
// after flush_timeout.
int run_hm_plugin(const hm_plugin_options& options, core::logger& log,
                  hm_plugin_totals* totals = nullptr);

}  // namespace mgw::bosh
