// Loggregator module: the gateway as a Loggregator v2 emitter, as the PCF Metrics Forwarder and
// the BOSH System Metrics Forwarder were, so that pushed metrics and HM heartbeats reach the
// Firehose as before. Envelopes are encoded on the producer's thread into a bounded queue;
// one coroutine on the gateway's io_context keeps a BatchSender call open to the local agent
// over mutual TLS (grpc/client.hpp), reconnecting with backoff, and flushes on drain.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <mgw/bosh/hm_event.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/grpc/client.hpp>
#include <mgw/push/binding_directory.hpp>
#include <mgw/push/push_request.hpp>

namespace prometheus {
class Registry;
}

namespace mgw::loggregator {

// How a pushed counter goes out (loggregator.counters).
enum class counter_style {
    gauge,    // a Gauge tagged type=counter, as the Metrics Forwarder (v1 ValueMetric)
    counter,  // a Counter with total (v1 CounterEvent)
};

struct emitter_options {
    // The agent: address, CA, client certificate and key, server name (metron), keepalive.
    grpc::client_options agent;
    bool push = false;    // pushed metrics (the Metrics Forwarder's envelopes)
    bool bosh = false;    // HM heartbeats (the System Metrics Forwarder's envelopes)
    bool alerts = false;  // HM alerts as v2 Events (the original dropped them)
    counter_style counters = counter_style::gauge;
    std::string bosh_ip_tag;  // the `ip` tag of heartbeat envelopes; empty: none
    std::size_t queue_bytes = std::size_t{8} << 20;
    std::size_t batch_size = 100;
    std::chrono::milliseconds batch_interval{100};
    std::uint64_t seed = 0;  // of the reconnect jitter; 0: from the clock
};

// What the status console shows of the emitter; read from any thread. `sent` is as of the
// emitter's last one-second tick; the queue's values are current.
struct emitter_status {
    std::string agent;  // host:port
    bool agent_up = false;
    bool push = false;  // which envelopes it forwards
    bool bosh = false;
    bool alerts = false;
    std::size_t queued_envelopes = 0;
    std::size_t queued_bytes = 0;
    std::uint64_t sent = 0;
    std::vector<std::pair<std::string, std::uint64_t>> dropped;  // by reason, every reason
};

class emitter {
  public:
    // Loads the TLS files (std::runtime_error when they cannot be loaded). `budget` must
    // outlive the emitter.
    emitter(boost::asio::io_context& io, emitter_options options, core::memory_budget& budget,
            core::logger& log, prometheus::Registry& registry);
    ~emitter();
    emitter(const emitter&) = delete;
    emitter& operator=(const emitter&) = delete;

    // Starts connecting (a failure is retried, never fatal) and the metrics tick.
    void start();

    // Producers: any thread, never blocking; what does not fit the queue is dropped and
    // counted. Each is a no-op unless its source is enabled.
    void emit_push(const push::push_binding& binding, const push::push_request& request,
                   std::int64_t wall_ms);
    void emit_bosh(const bosh::hm_event& event);

    // SIGTERM: what is queued goes out, the call is half-closed and the agent's answer awaited,
    // until `deadline`; then everything still held is dropped (counted as shutdown). True when
    // nothing was dropped.
    boost::asio::awaitable<bool> drain(std::chrono::steady_clock::time_point deadline);
    // Closes everything now.
    void stop();

    // A BatchSender call is open to the agent (mgw_loggregator_agent_up).
    bool agent_up() const;
    emitter_status status() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace mgw::loggregator
