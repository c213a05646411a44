// The proxy's HTTP side: GET /metrics/connected (every client pulled and merged, one series
// once) and GET /metrics/proxy (the original's own metrics).
#include "proxy_endpoints.hpp"

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <prometheus/text_serializer.h>

#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/http/stream_body.hpp>
#include <mgw/scrape/request_headers.hpp>

#include "client_registry.hpp"
#include "connected_merge.hpp"
#include "proxy_combine.hpp"
#include "proxy_metrics.hpp"
#include "pull.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

proxy_endpoints::proxy_endpoints(std::chrono::milliseconds scrape_timeout,
                                 client_registry& registry, client_pull& pull,
                                 proxy_counters& counters, original_metrics& original,
                                 core::memory_budget& memory, core::logger& log)
    : scrape_timeout_(scrape_timeout),
      registry_(registry),
      pull_(pull),
      counters_(counters),
      original_(original),
      memory_(memory),
      log_(log) {}

void proxy_endpoints::register_routes(http::router& router) {
    router.add(
        http::verb::get, "/metrics/connected",
        [this](http::request_context& request, http::response& response) {
            return serve_connected(request, response);
        },
        http::route_options("/metrics/connected"));
    router.add(
        http::verb::get, "/metrics/proxy",
        [this](http::request_context& request, http::response& response) {
            return serve_proxy(request, response);
        },
        http::route_options("/metrics/proxy"));
}

asio::awaitable<void> proxy_endpoints::serve_connected(http::request_context& request,
                                                       http::response& response) {
    const auto now = clock::now();
    const auto timeout = scrape::scrape_timeout(
        scrape_timeout_, request.header("X-Prometheus-Scrape-Timeout-Seconds"));
    const auto deadline =
        std::min(now + timeout, request.deadline() - scrape::scrape_timeout_margin);

    const std::vector<std::shared_ptr<connection>> clients = registry_.ready_clients();
    original_.active.Set(static_cast<double>(clients.size()));

    // In cluster mode the peers' clients are gathered while the local ones are pulled.
    const bool local_only =
        std::any_of(request.query().begin(), request.query().end(),
                    [](const auto& q) { return q.first == "scope" && q.second == "local"; });
    std::vector<scrape_answer> answers;
    std::vector<std::string> peer_texts;
    if (connected_peers_ && !local_only) {
        using namespace asio::experimental::awaitable_operators;
        std::tie(answers, peer_texts) =
            co_await (pull_.pull(clients, deadline) && connected_peers_(deadline));
    } else {
        answers = co_await pull_.pull(clients, deadline);
    }
    std::vector<leased_text> texts;
    for (scrape_answer& answer : answers) {
        if (answer.outcome == scrape_outcome::success) {
            texts.push_back(std::move(answer.text));
        }
    }
    // Pushes of connections closed since the last scrape (including during this one).
    for (leased_text& pushed : registry_.take_held_pushes(clock::now())) {
        texts.push_back(std::move(pushed));
    }
    // The peers' texts are held like the local ones.
    bool peers_refused = false;
    for (std::string& text : peer_texts) {
        leased_text& held = texts.emplace_back();
        held.lease = memory_.empty_lease(core::memory_use::rsocket_pulls);
        if (!held.lease.grow(text.size())) {
            peers_refused = true;
            texts.pop_back();
            break;
        }
        held.text = std::move(text);
    }

    // The parsed forms and the duplicate table are as large as the clients made their texts:
    // leased as the texts were. A refusal fails this scrape alone, with a clear answer.
    core::memory_lease merge_bytes = memory_.empty_lease(core::memory_use::rsocket_pulls);
    std::vector<std::string_view> views;
    views.reserve(texts.size());
    for (const leased_text& held : texts) {
        views.push_back(held.text);
    }
    connected_merge merge;
    if (peers_refused || !merge.read(views, merge_bytes, counters_, log_)) {
        log_.warn("rsocket /metrics/connected refused: memory budget exhausted",
                  {{"clients", texts.size()}, {"samples", merge.samples()}});
        response.status(http::status::service_unavailable);
        response.set("Content-Type", "text/plain; charset=utf-8");
        response.set("Retry-After", "1");
        response.body(
            "503 memory budget exhausted (limits.memory): the connected clients' "
            "expositions do not fit now\n");
        co_return;
    }
    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    merge.start({.output = negotiated.output, .utf8_names = negotiated.utf8_names}, counters_);

    response.status(http::status::ok);
    response.set("Content-Type", negotiated.content_type);
    co_await http::stream_body(
        response, http::stream_chunk_bytes,
        [&](std::string& chunk, std::size_t max) { return merge.write_some(chunk, max); });
}

std::string proxy_endpoints::proxy_text() {
    original_.active.Set(static_cast<double>(registry_.ready_count()));
    original_.refresh(clock::now());
    return prometheus::TextSerializer().Serialize(original_.registry.Collect());
}

asio::awaitable<void> proxy_endpoints::serve_proxy(http::request_context& request,
                                                   http::response& response) {
    std::string text = proxy_text();
    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    if (proxy_peers_) {
        co_await serve_cluster_proxy(request, response, std::move(text), negotiated);
        co_return;
    }
    response.set("Content-Type", negotiated.content_type);
    if (negotiated.output == exposition::format::prometheus_text) {
        response.body(std::move(text));
        co_return;
    }
    exposition::parsed_exposition parsed;
    const exposition::parse_result read =
        exposition::parse(text, exposition::format::prometheus_text, parsed);
    if (!read) {
        response.status(http::status::internal_server_error);
        response.set("Content-Type", "text/plain; charset=utf-8");
        response.body("proxy metrics not serialisable: " + read.error().message() + "\n");
        co_return;
    }
    std::string body;
    exposition::write_exposition(
        body, parsed, {.output = negotiated.output, .utf8_names = negotiated.utf8_names});
    response.body(std::move(body));
}

asio::awaitable<void> proxy_endpoints::serve_cluster_proxy(
    http::request_context& request, http::response& response, std::string text,
    const exposition::negotiated_format& negotiated) {
    const auto timeout = scrape::scrape_timeout(
        scrape_timeout_, request.header("X-Prometheus-Scrape-Timeout-Seconds"));
    const auto deadline =
        std::min(clock::now() + timeout, request.deadline() - scrape::scrape_timeout_margin);
    const bool local_only =
        std::any_of(request.query().begin(), request.query().end(),
                    [](const auto& q) { return q.first == "scope" && q.second == "local"; });
    // This node's series carry its label with `?scope=local` too: a series does not change
    // identity with the scope it was asked in.
    std::vector<peer_proxy_metrics> peers;
    if (!local_only) {
        peers = co_await proxy_peers_(deadline);
    }
    std::vector<node_proxy_metrics> nodes;
    nodes.reserve(peers.size() + 1);
    nodes.push_back({.node = node_id_, .text = text});
    for (const peer_proxy_metrics& peer : peers) {
        nodes.push_back({.node = peer.node, .text = peer.text});
    }
    std::string body;
    const proxy_combine_report report = combine_proxy_metrics(
        nodes, {.output = negotiated.output, .utf8_names = negotiated.utf8_names}, body);
    if (report.unreadable > 0) {
        counters_.parse_errors.Increment(static_cast<double>(report.unreadable));
        log_.debug("rsocket /metrics/proxy: a node's proxy metrics did not parse",
                   {{"unreadable", report.unreadable}});
    }
    counters_.type_conflicts.Increment(static_cast<double>(report.conflicts));
    response.status(http::status::ok);
    response.set("Content-Type", negotiated.content_type);
    response.body(std::move(body));
}

}  // namespace mgw::rsocket
