// RSocket module (internal): one pull of a set of clients, all in parallel, each by the same
// deadline, with every outcome counted.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/core/log.hpp>
#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;

struct pull_recorders {
    proxy_counters& counters;
    original_metrics& original;
    core::logger& log;
};

// The answers in the order of `clients`. Completes by `deadline` (each client's pull ends
// then, with a CANCEL to the client).
boost::asio::awaitable<std::vector<scrape_answer>> pull_all(
    const std::vector<std::shared_ptr<connection>>& clients,
    std::chrono::steady_clock::time_point deadline, pull_recorders recorders);

}  // namespace mgw::rsocket
