// HTTP server module (internal): the server's own instruments, registered in the registry the
// coordinator passes in so they appear on /metrics.
#pragma once

#include <string_view>

#include <boost/beast/http/verb.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "rejection.hpp"

namespace mgw::http {

class server_metrics {
  public:
    explicit server_metrics(prometheus::Registry& registry);

    // Every label from a fixed set: the route's configured name, the method among the common
    // ones (else `other`), the status code (else `other`).
    void observe(std::string_view route, boost::beast::http::verb method, unsigned code,
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
