// The proxy's HTTP side: GET /metrics/connected (every client pulled and merged, one series
// once), GET /metrics/proxy (the original's own metrics), and the app source that puts the
// clients joined to an app into its /v1|v2/apps answer.
#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <prometheus/text_serializer.h>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/rsocket/proxy_service.hpp>
#include <mgw/scrape/request_headers.hpp>
#include <mgw/text/ascii.hpp>
#include <mgw/text/uuid.hpp>

#include "app_identity.hpp"
#include "client_identity.hpp"
#include "client_registry.hpp"
#include "proxy_metrics.hpp"
#include "pull.hpp"
#include "series_dedup.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t chunk_bytes = 64 << 10;

// What a parsed exposition holds besides its text.
std::size_t parsed_bytes(const exposition::parsed_exposition& e) {
    return e.families.capacity() * sizeof(exposition::family) +
           e.samples.capacity() * sizeof(exposition::sample) +
           e.labels.capacity() * sizeof(exposition::label) +
           e.exemplars.capacity() * sizeof(exposition::exemplar);
}

// The app-level CF labels of a client that proved its app, as a push to it gets them: from the
// route table when it knows the app, else from the binding. All six, empty or not, so that the
// client's own labels of these names are always kept as exported_*.
std::vector<std::pair<std::string, std::string>> app_labels(
    const apps::app_query& app, std::string_view guid,
    const std::map<std::string, std::string>& binding_labels) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::string name(apps::cf_label_names[i]);
        std::string value;
        if (app.tags != nullptr) {
            if (const auto it = app.tags->find(name); it != app.tags->end()) {
                value = it->second;
            }
        } else if (const auto it = binding_labels.find(name); it != binding_labels.end()) {
            value = it->second;
        }
        if (name == "app_id" && value.empty()) {
            value = std::string(guid);
        }
        labels.emplace_back(name, std::move(value));
    }
    return labels;
}

}  // namespace

void proxy_service::register_routes(http::router& router) {
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

asio::awaitable<std::vector<scrape_answer>> proxy_service::pull(
    const std::vector<std::shared_ptr<connection>>& clients, clock::time_point deadline) {
    std::vector<scrape_answer> answers =
        co_await pull_all(clients, deadline, {*counters_, *original_, log_});
    if (!options_.trust_declared_app_identity) {
        co_return answers;  // labels join nothing unless the operator trusts them
    }
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].outcome != scrape_outcome::success ||
            !registry_->learning(clients[i]->id())) {
            continue;
        }
        const std::optional<bool> joined =
            registry_->learn(clients[i]->id(), app_guid_in_labels(answers[i].text.text));
        if (joined) {
            record_identity(*clients[i], to_string(*joined ? identity_result::declared
                                                           : identity_result::anonymous));
        }
    }
    co_return answers;
}

asio::awaitable<void> proxy_service::pull_connected(clock::time_point deadline,
                                                    std::vector<std::string>& out) {
    const std::vector<std::shared_ptr<connection>> clients = registry_->ready_clients();
    for (scrape_answer& answer : co_await pull(clients, deadline)) {
        if (answer.outcome == scrape_outcome::success) {
            out.push_back(std::move(answer.text.text));
        }
    }
}

asio::awaitable<void> proxy_service::learn_app(std::shared_ptr<connection> c) {
    const std::vector<std::shared_ptr<connection>> clients{std::move(c)};
    co_await pull(clients, clock::now() + options_.scrape_timeout);
}

asio::awaitable<void> proxy_service::serve_connected(http::request_context& request,
                                                     http::response& response) {
    const auto now = clock::now();
    const auto timeout = scrape::scrape_timeout(
        options_.scrape_timeout, request.header("X-Prometheus-Scrape-Timeout-Seconds"));
    const auto deadline =
        std::min(now + timeout, request.deadline() - scrape::scrape_timeout_margin);

    const std::vector<std::shared_ptr<connection>> clients = registry_->ready_clients();
    original_->active.Set(static_cast<double>(clients.size()));

    // In cluster mode the peers' clients are gathered while the local ones are pulled.
    const bool local_only =
        std::any_of(request.query().begin(), request.query().end(),
                    [](const auto& q) { return q.first == "scope" && q.second == "local"; });
    std::vector<scrape_answer> answers;
    std::vector<std::string> peer_texts;
    if (connected_peers_ && !local_only) {
        using namespace asio::experimental::awaitable_operators;
        std::tie(answers, peer_texts) =
            co_await (pull(clients, deadline) && connected_peers_(deadline));
    } else {
        answers = co_await pull(clients, deadline);
    }
    std::vector<leased_text> texts;
    for (scrape_answer& answer : answers) {
        if (answer.outcome == scrape_outcome::success) {
            texts.push_back(std::move(answer.text));
        }
    }
    // Pushes of connections closed since the last scrape (including during this one).
    for (leased_text& pushed : registry_->take_held_pushes(clock::now())) {
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
    std::vector<exposition::parsed_exposition> parsed(texts.size());
    std::vector<bool> valid(texts.size(), false);
    std::size_t samples = 0;
    bool refused = peers_refused;
    for (std::size_t i = 0; i < texts.size() && !refused; ++i) {
        exposition::parse_error error;
        const std::string& text = texts[i].text;
        // Read as Prometheus would (a multi-registry client repeats families), repaired so
        // that the answer stays valid; raw label blocks where canonical (Micrometer writes
        // them so): smaller to hold and copied whole by the merger.
        exposition::leniency_report repairs;
        if (!exposition::read_lenient(text, exposition::detect_format(text), parsed[i], error,
                                      repairs, {}, exposition::label_storage::raw_when_canonical)) {
            counters_->parse_errors.Increment();
            log_.debug("rsocket client exposition invalid", {{"error", error.message()}});
            parsed[i] = {};
            continue;
        }
        counters_->count_repairs(repairs);
        valid[i] = true;
        samples += parsed[i].samples.size();
        refused = !merge_bytes.grow(parsed_bytes(parsed[i]));
    }
    series_dedup dedup;
    if (!refused && texts.size() > 1) {
        dedup.reserve(samples);
        refused = !merge_bytes.grow(dedup.table_bytes());
    }
    if (refused) {
        log_.warn("rsocket /metrics/connected refused: memory budget exhausted",
                  {{"clients", texts.size()}, {"samples", samples}});
        response.status(http::status::service_unavailable);
        response.set("Content-Type", "text/plain; charset=utf-8");
        response.set("Retry-After", "1");
        response.body(
            "503 memory budget exhausted (limits.memory): the connected clients' "
            "expositions do not fit now\n");
        co_return;
    }
    exposition::merger merger;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (!valid[i]) {
            continue;
        }
        if (texts.size() > 1) {
            counters_->duplicate_series.Increment(static_cast<double>(dedup.add(parsed[i])));
        }
        merger.add_source(parsed[i]);
    }
    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    merger.start({.output = negotiated.output, .utf8_names = negotiated.utf8_names});
    counters_->type_conflicts.Increment(static_cast<double>(merger.conflicts().size()));

    response.status(http::status::ok);
    response.set("Content-Type", negotiated.content_type);
    std::string chunk;
    chunk.reserve(chunk_bytes + 4096);
    bool done = false;
    while (!done) {
        chunk.clear();
        done = merger.write_some(chunk, chunk_bytes);
        if (chunk.empty()) {
            continue;
        }
        if (const auto error = co_await response.write_chunk(chunk)) {
            co_return;
        }
    }
    co_await response.finish();
}

asio::awaitable<void> proxy_service::collect(const apps::app_query& app, clock::time_point deadline,
                                             std::vector<apps::contributed_exposition>& out) {
    const std::string_view guid = app.app_guid.empty() ? app.identifier : app.app_guid;
    if (!text::is_uuid(guid)) {
        co_return;
    }
    std::vector<client_registry::joined_client> joined = registry_->clients_of_app(guid);
    // A key joins only while its binding lasts: an unbind or a new bind revokes it at once.
    std::erase_if(joined, [&](const client_registry::joined_client& j) {
        if (j.app.how != client_app::grounds::key) {
            return false;
        }
        const std::optional<push::push_binding> binding =
            bindings_ == nullptr ? std::nullopt : bindings_->find_by_access_key(j.app.access_key);
        if (binding && text::iequals(binding->app_guid, guid)) {
            return false;
        }
        registry_->leave_app(j.client->id());
        record_identity(*j.client, to_string(identity_result::revoked));
        return true;
    });
    std::vector<std::shared_ptr<connection>> clients;
    clients.reserve(joined.size());
    for (const auto& j : joined) {
        clients.push_back(j.client);
    }
    std::vector<scrape_answer> answers = co_await pull(clients, deadline);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].outcome != scrape_outcome::success) {
            continue;
        }
        const client_app& joined_app = joined[i].app;
        apps::contributed_exposition contribution;
        contribution.format = exposition::detect_format(answers[i].text.text);
        contribution.body = std::move(answers[i].text.text);
        switch (joined_app.how) {
            case client_app::grounds::key:
                contribution.labels = app_labels(app, guid, joined_app.binding_labels);
                break;
            case client_app::grounds::declared_setup:
                contribution.labels.emplace_back("app_id", std::string(guid));
                break;
            case client_app::grounds::declared_labels:
                break;  // its own app_id label says it
        }
        // Each client is an instance of the app: two of them exposing the same series (two
        // app instances, or one reconnecting) stay two series, told apart by the connection.
        contribution.labels.emplace_back("instance_id",
                                         "rsocket-" + std::to_string(clients[i]->id()));
        contribution.labels.emplace_back("source", "rsocket");
        out.push_back(std::move(contribution));
    }
}

asio::awaitable<void> proxy_service::serve_proxy(http::request_context& request,
                                                 http::response& response) {
    original_->active.Set(static_cast<double>(registry_->ready_count()));
    original_->refresh(clock::now());
    std::string text = prometheus::TextSerializer().Serialize(original_->registry.Collect());
    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    response.set("Content-Type", negotiated.content_type);
    if (negotiated.output == exposition::format::prometheus_text) {
        response.body(std::move(text));
        co_return;
    }
    exposition::parsed_exposition parsed;
    exposition::parse_error error;
    if (!exposition::parse(text, exposition::format::prometheus_text, parsed, error)) {
        response.status(http::status::internal_server_error);
        response.set("Content-Type", "text/plain; charset=utf-8");
        response.body("proxy metrics not serialisable: " + error.message() + "\n");
        co_return;
    }
    std::string body;
    exposition::write_exposition(
        body, parsed, {.output = negotiated.output, .utf8_names = negotiated.utf8_names});
    response.body(std::move(body));
}

}  // namespace mgw::rsocket
