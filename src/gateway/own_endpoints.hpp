// The gateway's own endpoints: health (main listener and the health listener) and GET /metrics,
// which serves the gateway's registry in the format the scraper negotiated.
#pragma once

#include <mgw/core/lifecycle.hpp>
#include <mgw/core/metrics.hpp>
#include <mgw/http/handler.hpp>

namespace mgw::gateway {

// 200 "ok" when ready, 503 otherwise; never cached, like Promfetcher's health check.
http::handler make_health_handler(const core::health& health);

// The registry as Prometheus text 0.0.4, or as OpenMetrics 1.0 when the Accept header asks
// for it (the registry's text is parsed and re-written by the exposition engine).
http::handler make_metrics_handler(const core::gateway_metrics& metrics);

}  // namespace mgw::gateway
