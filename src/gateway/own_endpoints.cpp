// Health and own-metrics handlers.
#include "own_endpoints.hpp"

#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::gateway {

http::handler make_health_handler(const core::health& health) {
    return [&health](http::request_context&, http::response& res) -> boost::asio::awaitable<void> {
        const bool ready = health.is_ready();
        res.status(ready ? http::status::ok : http::status::service_unavailable);
        res.set("Content-Type", "text/plain; charset=utf-8");
        res.set("Cache-Control", "private, max-age=0");
        res.set("Expires", "0");
        res.body(ready ? "ok\n" : std::string(core::to_string(health.get())) + "\n");
        co_return;
    };
}

http::handler make_metrics_handler(const core::gateway_metrics& metrics) {
    return [&metrics](http::request_context& req,
                      http::response& res) -> boost::asio::awaitable<void> {
        const auto negotiated = exposition::negotiate(req.header("Accept").value_or(""));
        std::string text = metrics.serialize();
        res.set("Content-Type", negotiated.content_type);
        if (negotiated.output == exposition::format::prometheus_text) {
            res.body(std::move(text));
            co_return;
        }
        exposition::parsed_exposition parsed;
        const exposition::parse_result read =
            exposition::parse(text, exposition::format::prometheus_text, parsed);
        if (!read) {
            // prometheus-cpp wrote something our own parser rejects: a bug worth seeing.
            res.status(http::status::internal_server_error);
            res.set("Content-Type", "text/plain; charset=utf-8");
            res.body("own metrics not serialisable: " + read.error().message() + "\n");
            co_return;
        }
        std::string body;
        body.reserve(text.size() + text.size() / 4);
        exposition::write_exposition(
            body, parsed, {.output = negotiated.output, .utf8_names = negotiated.utf8_names});
        res.body(std::move(body));
    };
}

}  // namespace mgw::gateway
