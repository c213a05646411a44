// Request metrics by route and code. Family::Add looks the label set up under the family's
// mutex: cheap next to a request, and the label sets stay few (routes x methods x codes).
#include "server_metrics.hpp"

#include <string>

#include <prometheus/counter.h>

namespace mgw::http {
namespace {

std::string_view reason_label(rejection reason) {
    switch (reason) {
        case rejection::bad_request:
            return "bad_request";
        case rejection::header_too_large:
            return "header_too_large";
        case rejection::body_too_large:
            return "body_too_large";
        case rejection::request_timeout:
            return "request_timeout";
        case rejection::too_many_connections:
            return "too_many_connections";
    }
    return "unknown";
}

}  // namespace

server_metrics::server_metrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("mgw_http_requests_total")
                    .Help("HTTP requests answered, by route, method and status code")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("mgw_http_request_duration_seconds")
                     .Help("Time from a request's header to the end of its response, by route")
                     .Register(registry)),
      open_connections_(prometheus::BuildGauge()
                            .Name("mgw_http_open_connections")
                            .Help("HTTP connections currently open")
                            .Register(registry)
                            .Add({})),
      rejected_(prometheus::BuildCounter()
                    .Name("mgw_http_rejected_total")
                    .Help("Requests and connections turned away before any handler, by reason")
                    .Register(registry)) {}

void server_metrics::observe(std::string_view route, std::string_view method, unsigned code,
                             double duration_seconds) {
    requests_
        .Add({{"route", std::string(route)},
              {"method", std::string(method)},
              {"code", std::to_string(code)}})
        .Increment();
    static const prometheus::Histogram::BucketBoundaries buckets{
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    durations_.Add({{"route", std::string(route)}}, buckets).Observe(duration_seconds);
}

void server_metrics::reject(rejection reason) {
    rejected_.Add({{"reason", std::string(reason_label(reason))}}).Increment();
}

}  // namespace mgw::http
