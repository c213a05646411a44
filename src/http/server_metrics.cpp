// Request metrics by route and code. Family::Add looks the label set up under the family's
// mutex: cheap next to a request, and the label sets stay few (routes x methods x codes).
#include "server_metrics.hpp"

#include <string>

#include <prometheus/counter.h>

namespace mgw::http {
namespace {

// The `method` label. Beast knows some thirty methods and maps anything else to `unknown`,
// but even thirty is more series than the gateway's own routes warrant: the rest is `other`.
std::string_view method_label(boost::beast::http::verb method) {
    using boost::beast::http::verb;
    switch (method) {
        case verb::get:
            return "GET";
        case verb::head:
            return "HEAD";
        case verb::post:
            return "POST";
        case verb::put:
            return "PUT";
        case verb::delete_:
            return "DELETE";
        case verb::patch:
            return "PATCH";
        case verb::options:
            return "OPTIONS";
        default:
            return "other";
    }
}

// The `code` label: the status codes HTTP defines a class for; anything else a handler might
// set is `other`.
std::string code_label(unsigned code) {
    if (code < 100 || code > 599) {
        return "other";
    }
    return std::to_string(code);
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
                    .Help("Requests and connections the server refused or cut off itself "
                          "(before, or instead of, a handler's answer), by reason")
                    .Register(registry)) {}

void server_metrics::observe(std::string_view route, boost::beast::http::verb method, unsigned code,
                             double duration_seconds) {
    requests_
        .Add({{"route", std::string(route)},
              {"method", std::string(method_label(method))},
              {"code", code_label(code)}})
        .Increment();
    static const prometheus::Histogram::BucketBoundaries buckets{
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    durations_.Add({{"route", std::string(route)}}, buckets).Observe(duration_seconds);
}

void server_metrics::reject(rejection reason) {
    rejected_.Add({{"reason", std::string(to_string(reason))}}).Increment();
}

}  // namespace mgw::http
