// HTTP server module (internal): the server's own instruments, registered in the registry the
// coordinator passes in so they appear on /metrics.
#pragma once

#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mgw::http {

// Why a request or connection was turned away before reaching a handler.
enum class rejection {
    bad_request,          // 400: malformed request line, header or target
    header_too_large,     // 431
    body_too_large,       // 413
    request_timeout,      // request not complete (or not answered) before its deadline
    too_many_connections  // beyond max_connections
};

class server_metrics {
  public:
    explicit server_metrics(prometheus::Registry& registry);

    void observe(std::string_view route, std::string_view method, unsigned code,
                 double duration_seconds);
    void reject(rejection reason);
    void connection_opened() { open_connections_.Increment(); }
    void connection_closed() { open_connections_.Decrement(); }

  private:
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& durations_;
    prometheus::Gauge& open_connections_;
    prometheus::Family<prometheus::Counter>& rejected_;
};

}  // namespace mgw::http
