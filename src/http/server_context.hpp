// HTTP server module (internal): everything a connection shares with its server. Held by
// shared_ptr so that connections finishing after the server object are still safe.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/http/router.hpp>
#include <mgw/http/server_options.hpp>

#include "connection_registry.hpp"
#include "server_metrics.hpp"

namespace mgw::http {

struct server_context {
    server_context(server_options o, router r, core::logger& l, prometheus::Registry& registry,
                   core::memory_budget* m)
        : options(std::move(o)), routes(std::move(r)), log(l), memory(m), metrics(registry) {}

    const server_options options;
    const router routes;
    core::logger& log;
    core::memory_budget* memory;  // null: no ceiling
    server_metrics metrics;
    connection_registry connections;
    // The io_context's executor, where a streamed body's producer runs while the connection
    // writes the previous chunk (stream_body.hpp).
    boost::asio::any_io_executor worker;
};

}  // namespace mgw::http
