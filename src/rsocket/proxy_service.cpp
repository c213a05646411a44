// The proxy: listeners, the registry of ready connections, the parallel pull with per-client
// deadlines, push-on-close held for push_ttl, and the merged answer in the negotiated format.
#include <algorithm>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <mgw/exposition/content_type.hpp>
#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>
#include <mgw/rsocket/proxy_service.hpp>
#include <mgw/scrape/request_headers.hpp>

namespace mgw::rsocket {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk_bytes = 64 << 10;

tcp::endpoint resolve_listen(const core::listen_address& address) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address.host.empty() ? "0.0.0.0" : address.host, ec);
    if (!ec) {
        return {ip, address.port};
    }
    asio::io_context scratch;
    tcp::resolver resolver(scratch);
    auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec || results.empty()) {
        throw std::system_error(ec, "rsocket: cannot resolve listen host " + address.host);
    }
    return results.begin()->endpoint();
}

// The original's `outcome` tag: success, closed (ClosedChannelException) or error.
std::string_view original_outcome(scrape_outcome outcome) {
    switch (outcome) {
        case scrape_outcome::success:
            return "success";
        case scrape_outcome::closed:
            return "closed";
        default:
            return "error";
    }
}

bool is_guid(std::string_view s) {
    if (s.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (hyphen ? c != '-' : !hex) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// The value after the first `<key><separator>"` in `text`, if it is a GUID.
std::string guid_after(std::string_view text, std::string_view key, std::string_view separator) {
    std::string needle(key);
    needle += separator;
    needle += '"';
    for (std::size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + 1)) {
        // Whole key only: `xapp_id` is not `app_id`.
        const char before = at == 0 ? ' ' : text[at - 1];
        if (std::isalnum(static_cast<unsigned char>(before)) || before == '_') {
            continue;
        }
        const std::string_view value = text.substr(at + needle.size(), 36);
        if (is_guid(value)) {
            return std::string(value);
        }
    }
    return {};
}

}  // namespace

std::string app_guid_in_setup(std::string_view payload) {
    const std::string_view text = trim(payload);
    if (is_guid(text)) {
        return std::string(text);
    }
    for (std::string_view key : {"\"app_id\"", "\"application_id\"", "\"applicationId\""}) {
        for (std::string_view separator : {":", ": "}) {
            if (std::string guid = guid_after(text, key, separator); !guid.empty()) {
                return guid;
            }
        }
    }
    return {};
}

std::string app_guid_in_labels(std::string_view exposition_text) {
    for (std::string_view key : {"app_id", "application_id"}) {
        if (std::string guid = guid_after(exposition_text, key, "="); !guid.empty()) {
            return guid;
        }
    }
    return {};
}

// The gateway's own counters, on /metrics.
struct proxy_service::metrics {
    prometheus::Gauge& connections;
    prometheus::Family<prometheus::Counter>& accepted;
    prometheus::Counter& rejected;
    prometheus::Family<prometheus::Counter>& connection_errors;
    prometheus::Family<prometheus::Counter>& pulls;
    prometheus::Family<prometheus::Counter>& pushes;
    prometheus::Counter& parse_errors;
    prometheus::Counter& type_conflicts;

    explicit metrics(prometheus::Registry& r)
        : connections(prometheus::BuildGauge()
                          .Name("mgw_rsocket_connections")
                          .Help("RSocket connections open (accepted and not yet closed).")
                          .Register(r)
                          .Add({})),
          accepted(prometheus::BuildCounter()
                       .Name("mgw_rsocket_connections_accepted_total")
                       .Help("RSocket connections accepted, by transport.")
                       .Register(r)),
          rejected(prometheus::BuildCounter()
                       .Name("mgw_rsocket_connections_rejected_total")
                       .Help("RSocket connections closed at once because rsocket.max_connections "
                             "were open.")
                       .Register(r)
                       .Add({})),
          connection_errors(prometheus::BuildCounter()
                                .Name("mgw_rsocket_connection_errors_total")
                                .Help("RSocket connections ended by a protocol violation, a "
                                      "transport failure or silence, by reason.")
                                .Register(r)),
          pulls(prometheus::BuildCounter()
                    .Name("mgw_rsocket_pulls_total")
                    .Help("Pulls of connected clients on /metrics/connected, by outcome "
                          "(success, timeout, closed, error, decrypt, busy).")
                    .Register(r)),
          pushes(prometheus::BuildCounter()
                     .Name("mgw_rsocket_pushes_total")
                     .Help("Metrics pushed by clients, by outcome (held, invalid, served, "
                           "expired, dropped).")
                     .Register(r)),
          parse_errors(prometheus::BuildCounter()
                           .Name("mgw_rsocket_parse_errors_total")
                           .Help("Client expositions left out of /metrics/connected because "
                                 "they do not parse.")
                           .Register(r)
                           .Add({})),
          type_conflicts(prometheus::BuildCounter()
                             .Name("mgw_rsocket_merge_type_conflicts_total")
                             .Help("Families left out of /metrics/connected because a client "
                                   "gave them another TYPE than an earlier client did.")
                             .Register(r)
                             .Add({})) {}
};

// The original proxy's own metrics, with its names, on /metrics/proxy.
struct proxy_service::proxy_metrics {
    prometheus::Registry registry;
    prometheus::Gauge& active;
    prometheus::Family<prometheus::Summary>& scrape_seconds;
    prometheus::Summary& payload_bytes;
    prometheus::Family<prometheus::Counter>& connection_errors;

    proxy_metrics()
        : active(prometheus::BuildGauge()
                     .Name("prometheus_proxy_scrape_active_connections")
                     .Help("Number of connections being scraped")
                     .Register(registry)
                     .Add({})),
          scrape_seconds(prometheus::BuildSummary()
                             .Name("prometheus_proxy_scrape_seconds")
                             .Help("Time to scrape one connected client")
                             .Register(registry)),
          payload_bytes(prometheus::BuildSummary()
                            .Name("prometheus_proxy_scrape_payload_bytes")
                            .Help("Uncompressed size of a client's scrape")
                            .Register(registry)
                            .Add({}, prometheus::Summary::Quantiles{})),
          connection_errors(prometheus::BuildCounter()
                                .Name("prometheus_proxy_connection_error_total")
                                .Help("Connection errors, by exception and transport")
                                .Register(registry)) {}
};

struct proxy_service::listener {
    tcp::acceptor acceptor;
    bool websocket;
};

proxy_service::proxy_service(asio::io_context& io, proxy_options options, core::logger& log,
                             prometheus::Registry& registry)
    : io_(io),
      options_(std::move(options)),
      log_(log),
      metrics_(std::make_unique<metrics>(registry)),
      proxy_metrics_(std::make_unique<proxy_metrics>()),
      key_pool_(options_.keys, registry, log) {}

proxy_service::~proxy_service() {
    key_pool_.stop();
}

void proxy_service::start() {
    auto bind = [&](const core::listen_address& address, bool websocket) {
        auto l = std::make_shared<listener>(
            listener{.acceptor = tcp::acceptor(asio::make_strand(io_)), .websocket = websocket});
        const tcp::endpoint endpoint = resolve_listen(address);
        l->acceptor.open(endpoint.protocol());
        l->acceptor.set_option(tcp::acceptor::reuse_address(true));
        boost::system::error_code ec;
        l->acceptor.bind(endpoint, ec);
        if (ec) {
            throw std::system_error(ec, "rsocket: cannot listen on " + address.to_string());
        }
        l->acceptor.listen(asio::socket_base::max_listen_connections);
        const std::uint16_t port = l->acceptor.local_endpoint().port();
        (websocket ? websocket_port_ : tcp_port_) = port;
        listeners_.push_back(l);
        asio::co_spawn(l->acceptor.get_executor(), accept_loop(l), asio::detached);
        log_.info("rsocket listening", {{"transport", websocket ? "websocket" : "tcp"},
                                        {"listen", address.to_string()},
                                        {"port", port}});
    };
    if (options_.tcp_listen) {
        bind(*options_.tcp_listen, false);
    }
    if (options_.websocket_listen) {
        bind(*options_.websocket_listen, true);
    }
}

void proxy_service::stop() {
    for (const auto& l : listeners_) {
        asio::post(l->acceptor.get_executor(), [l] {
            boost::system::error_code ignored;
            l->acceptor.close(ignored);
        });
    }
    std::vector<std::shared_ptr<connection>> open;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        for (auto& [id, weak] : all_) {
            if (auto c = weak.lock()) {
                open.push_back(std::move(c));
            }
        }
    }
    for (auto& c : open) {
        c->stop();
    }
}

asio::awaitable<void> proxy_service::accept_loop(std::shared_ptr<listener> l) {
    asio::steady_timer backoff(l->acceptor.get_executor());
    for (;;) {
        connection::strand_type strand = asio::make_strand(io_);
        auto [ec, socket] = co_await l->acceptor.async_accept(strand, use_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) {
                co_return;
            }
            // EMFILE and friends: wait instead of spinning on the error.
            proxy_metrics_->connection_errors
                .Add({{"exception", "accept"}, {"transport", l->websocket ? "Websocket" : "TCP"}})
                .Increment();
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(strand, start_connection(std::move(socket), strand, l->websocket),
                       asio::detached);
    }
}

asio::awaitable<void> proxy_service::start_connection(tcp::socket socket,
                                                      connection::strand_type strand,
                                                      bool websocket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    {
        std::lock_guard lock(mutex_);
        if (stopped_ || open_ >= options_.max_connections) {
            metrics_->rejected.Increment();
            socket.close(ignored);
            co_return;
        }
        ++open_;
        metrics_->connections.Set(static_cast<double>(open_));
    }
    std::unique_ptr<transport> t;
    if (websocket) {
        t = co_await accept_websocket(std::move(socket), options_.max_frame_bytes);
    } else {
        t = make_tcp_transport(std::move(socket), options_.max_frame_bytes);
    }
    std::shared_ptr<connection> c;
    if (t) {
        metrics_->accepted.Add({{"transport", t->name() == "TCP" ? "tcp" : "websocket"}})
            .Increment();
        std::lock_guard lock(mutex_);
        if (!stopped_) {
            c = std::make_shared<connection>(strand, std::move(t), key_pool_, options_.connection,
                                             static_cast<connection_observer&>(*this), next_id_++);
            all_.emplace(c->id(), c);
        }
    }
    if (!c) {
        std::lock_guard lock(mutex_);
        --open_;
        metrics_->connections.Set(static_cast<double>(open_));
        if (!t) {
            metrics_->connection_errors.Add({{"reason", "websocket_upgrade"}}).Increment();
        }
        co_return;
    }
    co_await c->run();
}

void proxy_service::connection_ready(const std::shared_ptr<connection>& c) {
    std::string guid = app_guid_in_setup(c->setup_data());
    if (guid.empty()) {
        guid = app_guid_in_setup(c->setup_metadata());
    }
    std::lock_guard lock(mutex_);
    if (!stopped_) {
        ready_.emplace(c->id(), c);
        if (!guid.empty()) {
            apps_[c->id()] = {.guid = std::move(guid), .from_labels = false};
        }
    }
}

void proxy_service::connection_pushed(connection& c, bool ok, std::string_view reason) {
    metrics_->pushes.Add({{"outcome", ok ? "held" : "invalid"}}).Increment();
    if (!ok) {
        log_.debug("rsocket push not decryptable", {{"connection", c.id()}, {"error", reason}});
    }
}

void proxy_service::connection_failed(connection& c, std::string_view reason) {
    metrics_->connection_errors.Add({{"reason", std::string(reason)}}).Increment();
    proxy_metrics_->connection_errors
        .Add({{"exception", std::string(reason)}, {"transport", std::string(c.transport_name())}})
        .Increment();
    log_.debug("rsocket connection failed", {{"connection", c.id()}, {"reason", reason}});
}

void proxy_service::connection_closed(connection& c, std::optional<std::string> push) {
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    ready_.erase(c.id());
    apps_.erase(c.id());
    all_.erase(c.id());
    --open_;
    metrics_->connections.Set(static_cast<double>(open_));
    if (push) {
        prune_held_pushes(now);
        if (held_.size() >= options_.max_held_pushes) {
            held_.pop_front();
            metrics_->pushes.Add({{"outcome", "dropped"}}).Increment();
        }
        held_.push_back({.text = std::move(*push), .expires = now + options_.push_ttl});
    }
}

void proxy_service::prune_held_pushes(clock::time_point now) {
    while (!held_.empty() && held_.front().expires <= now) {
        held_.pop_front();
        metrics_->pushes.Add({{"outcome", "expired"}}).Increment();
    }
}

std::vector<std::string> proxy_service::take_held_pushes(clock::time_point now) {
    std::lock_guard lock(mutex_);
    prune_held_pushes(now);
    std::vector<std::string> texts;
    texts.reserve(held_.size());
    for (held_push& p : held_) {
        texts.push_back(std::move(p.text));
    }
    held_.clear();
    if (!texts.empty()) {
        metrics_->pushes.Add({{"outcome", "served"}}).Increment(static_cast<double>(texts.size()));
    }
    return texts;
}

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

asio::awaitable<void> proxy_service::serve_connected(http::request_context& request,
                                                     http::response& response) {
    const auto now = clock::now();
    const auto timeout = scrape::scrape_timeout(
        options_.scrape_timeout, request.header("X-Prometheus-Scrape-Timeout-Seconds"));
    const auto deadline =
        std::min(now + timeout, request.deadline() - scrape::scrape_timeout_margin);

    std::vector<std::shared_ptr<connection>> clients;
    {
        std::lock_guard lock(mutex_);
        clients.reserve(ready_.size());
        for (const auto& [id, c] : ready_) {
            clients.push_back(c);
        }
    }
    proxy_metrics_->active.Set(static_cast<double>(clients.size()));

    std::vector<std::string> texts;
    for (scrape_answer& answer : co_await pull(clients, deadline)) {
        if (answer.outcome == scrape_outcome::success) {
            texts.push_back(std::move(answer.text));
        }
    }
    // Pushes of connections closed since the last scrape (including during this one).
    for (std::string& pushed : take_held_pushes(clock::now())) {
        texts.push_back(std::move(pushed));
    }

    std::vector<exposition::parsed_exposition> parsed(texts.size());
    exposition::merger merger;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        exposition::parse_error error;
        if (!exposition::parse(texts[i], exposition::detect_format(texts[i]), parsed[i], error)) {
            metrics_->parse_errors.Increment();
            log_.debug("rsocket client exposition invalid", {{"error", error.message()}});
            continue;
        }
        merger.add_source(parsed[i]);
    }
    const auto negotiated = exposition::negotiate(request.header("Accept").value_or(""));
    merger.start({.output = negotiated.output, .utf8_names = negotiated.utf8_names});
    metrics_->type_conflicts.Increment(static_cast<double>(merger.conflicts().size()));

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

asio::awaitable<std::vector<scrape_answer>> proxy_service::pull(
    const std::vector<std::shared_ptr<connection>>& clients, clock::time_point deadline) {
    std::vector<scrape_answer> answers(clients.size());
    if (clients.empty()) {
        co_return answers;
    }
    auto spawn = [&](const std::shared_ptr<connection>& c) {
        return asio::co_spawn(
            c->strand(),
            [c, deadline]() -> asio::awaitable<std::pair<scrape_answer, double>> {
                const auto start = clock::now();
                scrape_answer answer = co_await c->scrape(deadline);
                co_return std::pair{std::move(answer),
                                    std::chrono::duration<double>(clock::now() - start).count()};
            },
            asio::deferred);
    };
    std::vector<decltype(spawn(clients.front()))> operations;
    operations.reserve(clients.size());
    for (const auto& c : clients) {
        operations.push_back(spawn(c));
    }
    auto [order, exceptions, results] =
        co_await asio::experimental::make_parallel_group(std::move(operations))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    std::vector<std::pair<std::uint64_t, std::string>> learned;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (exceptions[i]) {
            metrics_->pulls.Add({{"outcome", "error"}}).Increment();
            answers[i].outcome = scrape_outcome::error;
            continue;
        }
        auto& [answer, seconds] = results[i];
        metrics_->pulls.Add({{"outcome", std::string(to_string(answer.outcome))}}).Increment();
        const bool ok = answer.outcome == scrape_outcome::success;
        proxy_metrics_->scrape_seconds
            .Add({{"outcome", std::string(original_outcome(answer.outcome))},
                  {"exception", ok ? std::string("none") : answer.reason}},
                 prometheus::Summary::Quantiles{})
            .Observe(seconds);
        if (ok) {
            proxy_metrics_->payload_bytes.Observe(static_cast<double>(answer.text.size()));
            learned.emplace_back(clients[i]->id(), app_guid_in_labels(answer.text));
        } else {
            log_.debug("rsocket pull failed", {{"connection", clients[i]->id()},
                                               {"outcome", to_string(answer.outcome)},
                                               {"reason", answer.reason}});
        }
        answers[i] = std::move(answer);
    }
    if (!learned.empty()) {
        std::lock_guard lock(mutex_);
        for (auto& [id, guid] : learned) {
            if (!ready_.contains(id)) {
                continue;
            }
            // Labels name the app; a client without them keeps what its SETUP said, or is
            // remembered as belonging to no app so that app requests stop pulling it.
            if (!guid.empty()) {
                apps_[id] = {.guid = std::move(guid), .from_labels = true};
            } else {
                apps_.try_emplace(id, app_identity{.guid = {}, .from_labels = true});
            }
        }
    }
    co_return answers;
}

asio::awaitable<void> proxy_service::collect(const apps::app_query& app, clock::time_point deadline,
                                             std::vector<apps::contributed_exposition>& out) {
    const std::string_view guid = app.app_guid.empty() ? app.identifier : app.app_guid;
    if (!is_guid(guid)) {
        co_return;
    }
    std::vector<std::shared_ptr<connection>> clients;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, c] : ready_) {
            const auto known = apps_.find(id);
            if (known == apps_.end() || known->second.guid == guid) {
                clients.push_back(c);
            }
        }
    }
    std::vector<scrape_answer> answers = co_await pull(clients, deadline);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        const auto known = apps_.find(clients[i]->id());
        if (answers[i].outcome != scrape_outcome::success || known == apps_.end() ||
            known->second.guid != guid) {
            continue;
        }
        apps::contributed_exposition contribution;
        contribution.format = exposition::detect_format(answers[i].text);
        contribution.body = std::move(answers[i].text);
        if (!known->second.from_labels) {
            contribution.labels.emplace_back("app_id", std::string(guid));
        }
        out.push_back(std::move(contribution));
    }
}

asio::awaitable<void> proxy_service::serve_proxy(http::request_context& request,
                                                 http::response& response) {
    {
        std::lock_guard lock(mutex_);
        proxy_metrics_->active.Set(static_cast<double>(ready_.size()));
    }
    std::string text = prometheus::TextSerializer().Serialize(proxy_metrics_->registry.Collect());
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
