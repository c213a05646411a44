// The cluster shell: NATS messages are posted from the NATS strand to the cluster's own strand,
// where the membership table, the gathers in flight and the heartbeat timer live. It decides
// nothing itself: the table, the gather state machine, the codec and the rendering do.
#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/cluster/cluster_service.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/parser.hpp>

#include "app_list.hpp"
#include "gather.hpp"
#include "membership.hpp"
#include "peer_reply.hpp"
#include "wire.hpp"

namespace mgw::cluster {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

std::string joined(const std::vector<std::string>& nodes) {
    std::string out;
    for (const std::string& node : nodes) {
        out += (out.empty() ? "" : ",") + node;
    }
    return out;
}

// Room kept in a NATS message for the chunk's header line.
constexpr std::size_t chunk_header_room = 1024;
// Peers' requests answered at once; more are refused (the asker counts its answer partial),
// so a burst of requests cannot pull every RSocket client many times over.
constexpr std::size_t max_concurrent_answers = 64;

}  // namespace

struct cluster_service::impl : std::enable_shared_from_this<impl> {
    struct pending {
        gather_state state;
        asio::steady_timer timer;
        core::memory_lease lease;  // the reply bytes held, until the answer takes them over
    };

    impl(asio::io_context& io, cluster_service_options o, nats::client& n, core::logger& l,
         prometheus::Registry& r, core::memory_budget* m)
        : strand(asio::make_strand(io)),
          options(std::move(o)),
          nats(n),
          log(l),
          memory(m),
          boot(options.boot_id.empty() ? new_boot_id() : options.boot_id),
          table(options.node_id, boot),
          heartbeat_subject(fmt::format("mgw.{}.node.hb", options.config.name)),
          request_subject(fmt::format("mgw.{}.q.app", options.config.name)),
          connected_subject(fmt::format("mgw.{}.q.connected", options.config.name)),
          proxy_subject(fmt::format("mgw.{}.q.proxy", options.config.name)),
          apps_subject(fmt::format("mgw.{}.q.apps", options.config.name)),
          inbox_prefix(fmt::format("_INBOX.mgw.{}.{}.", options.config.name, options.node_id)),
          timer(strand),
          up(prometheus::BuildGauge()
                 .Name("mgw_cluster_up")
                 .Help("1 while this node is connected to the cluster's NATS")
                 .Register(r)
                 .Add({})),
          peers(prometheus::BuildGauge()
                    .Name("mgw_cluster_peers")
                    .Help("Live peers of this node (heard within 3.5 heartbeats)")
                    .Register(r)
                    .Add({})),
          changes(prometheus::BuildCounter()
                      .Name("mgw_cluster_membership_changes_total")
                      .Help("Peers that joined, left or restarted")
                      .Register(r)),
          gathers(prometheus::BuildCounter()
                      .Name("mgw_cluster_gathers_total")
                      .Help("App requests sent to the live peers")
                      .Register(r)
                      .Add({})),
          partial(prometheus::BuildCounter()
                      .Name("mgw_cluster_gather_partial_total")
                      .Help("App answers that lack a peer's series, by the first reason")
                      .Register(r)),
          answered(prometheus::BuildCounter()
                       .Name("mgw_cluster_requests_answered_total")
                       .Help("Peers' app requests answered")
                       .Register(r)
                       .Add({})),
          refused(prometheus::BuildCounter()
                      .Name("mgw_cluster_requests_refused_total")
                      .Help("Peers' app requests refused: too many answers in progress")
                      .Register(r)
                      .Add({})),
          bad(prometheus::BuildCounter()
                  .Name("mgw_cluster_bad_messages_total")
                  .Help("Cluster messages that did not decode, by kind")
                  .Register(r)),
          publish_failures(prometheus::BuildCounter()
                               .Name("mgw_cluster_publish_failures_total")
                               .Help("Cluster messages NATS did not take, by subject kind")
                               .Register(r)),
          ignored_chunks(prometheus::BuildCounter()
                             .Name("mgw_cluster_ignored_chunks_total")
                             .Help("Reply chunks not used by a gather, by verdict")
                             .Register(r)) {
        prometheus::BuildGauge()
            .Name("mgw_cluster_node_info")
            .Help("This node's identity in the cluster")
            .Register(r)
            .Add({{"cluster", options.config.name}, {"node", options.node_id}, {"boot_id", boot}})
            .Set(1);
        for (membership_event e :
             {membership_event::joined, membership_event::left, membership_event::restarted}) {
            changes.Add({{"event", std::string(to_string(e))}});
        }
        for (const char* reason :
             {"nats_down", "deadline", "peer_left", "too_large", "memory", "peer_version"}) {
            partial.Add({{"reason", reason}});
        }
    }

    // --- NATS (already on the strand) ---

    void on_heartbeat(const nats::message& m) {
        const auto hb = decode_heartbeat(m.data);
        if (!hb) {
            bad.Add({{"kind", "heartbeat"}}).Increment();
            return;
        }
        const std::uint64_t conflicts = table.self_conflicts();
        if (auto change = table.observe(*hb, clock::now())) {
            changed(*change);
        } else if (table.self_conflicts() != conflicts && conflicts == 0) {
            log.error("cluster: another gateway uses this node id",
                      {{"node", options.node_id}, {"boot_id", boot}, {"other_boot_id", hb->boot}});
        }
    }

    void on_request(nats::message m) {
        auto request = decode_app_request(m.data);
        if (!request || m.reply.empty()) {
            bad.Add({{"kind", "request"}}).Increment();
            return;
        }
        if (request->from == options.node_id) {
            return;  // our own request: the local sources answer it directly
        }
        if (answering >= max_concurrent_answers) {
            refused.Increment();
            return;
        }
        ++answering;
        asio::co_spawn(strand, answer(shared_from_this(), std::move(*request), std::move(m.reply)),
                       asio::detached);
    }

    void on_chunk(const nats::message& m) {
        const auto chunk = decode_chunk(m.data);
        if (!chunk) {
            bad.Add({{"kind", "chunk"}}).Increment();
            return;
        }
        const auto it = in_flight.find(chunk->header.request);
        if (it == in_flight.end()) {
            ignored_chunks.Add({{"verdict", "late"}}).Increment();
            return;
        }
        pending& p = *it->second;
        const chunk_verdict verdict = p.state.on_chunk(chunk->header, chunk->payload);
        if (verdict != chunk_verdict::accepted) {
            ignored_chunks.Add({{"verdict", std::string(to_string(verdict))}}).Increment();
        } else if (memory != nullptr && !p.lease.grow(chunk->payload.size())) {
            // The ceiling refuses: this peer's series are left out of this answer.
            p.state.give_up(chunk->header.node, missing_reason::memory);
        }
        if (it->second->state.complete()) {
            it->second->timer.cancel();
        }
    }

    // --- membership ---

    // The status console's copy, refreshed on the strand whenever what it shows changes.
    void publish_status() {
        cluster_status s;
        s.name = options.config.name;
        s.node = options.node_id;
        s.boot = boot;
        s.connected = was_connected;
        for (const membership_table::peer_view& p : table.peers()) {
            s.peers.push_back({.node = p.node, .boot = p.boot, .last_heard = p.last_seen});
        }
        s.gathers = static_cast<std::uint64_t>(gathers.Value());
        for (const auto& family : partial.Collect()) {
            for (const auto& metric : family.metric) {
                s.partial += static_cast<std::uint64_t>(metric.counter.value);
            }
        }
        const std::lock_guard lock(status_mutex);
        published = std::move(s);
    }

    void changed(const membership_change& change) {
        changes.Add({{"event", std::string(to_string(change.event))}}).Increment();
        peers.Set(static_cast<double>(table.peer_count()));
        if (change.event != membership_event::joined) {
            // A peer that left or restarted will not finish the replies it owes.
            for (auto& [id, p] : in_flight) {
                p->state.on_peer_left(change.node);
                if (p->state.complete()) {
                    p->timer.cancel();
                }
            }
        }
        log.info("cluster membership changed", {{"event", to_string(change.event)},
                                                {"peer", change.node},
                                                {"peer_boot_id", change.boot},
                                                {"node", options.node_id},
                                                {"peers", table.peer_count()},
                                                {"live", joined(table.live_peers())}});
    }

    void tick() {
        const bool connected = nats.status().connected;
        if (connected != was_connected) {
            was_connected = connected;
            up.Set(connected ? 1 : 0);
            if (connected) {
                log.info("cluster: NATS connected, gathering from peers",
                         {{"cluster", options.config.name}, {"node", options.node_id}});
            } else {
                log.warn("cluster: NATS not connected, answering with local series only",
                         {{"cluster", options.config.name}, {"node", options.node_id}});
            }
        }
        const auto now = clock::now();
        if (now - last_heartbeat >= options.config.heartbeat - options.config.heartbeat / 10) {
            last_heartbeat = now;
            const std::string message = encode_heartbeat({.node = options.node_id,
                                                          .boot = boot,
                                                          .interval = options.config.heartbeat,
                                                          .version = options.version});
            if (connected && !nats.publish(heartbeat_subject, message)) {
                publish_failures.Add({{"subject", "heartbeat"}}).Increment();
            }
        }
        for (const membership_change& change : table.expire(now)) {
            changed(change);
        }
        publish_status();
    }

    static asio::awaitable<void> heartbeat_loop(std::shared_ptr<impl> self) {
        while (!self->stopped) {
            self->tick();
            // Twice per interval, so a silent peer is noticed within half an interval of its
            // 3.5 missed heartbeats.
            self->timer.expires_after(self->options.config.heartbeat / 2);
            co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

    // --- answering a peer ---

    std::size_t chunk_bytes() const {
        std::size_t chunk = options.config.gather.chunk_bytes;
        const std::int64_t max_payload = nats.max_payload();
        if (max_payload > 0 && chunk + chunk_header_room > static_cast<std::size_t>(max_payload)) {
            chunk = std::max<std::size_t>(
                min_chunk_bytes, static_cast<std::size_t>(max_payload) - chunk_header_room);
        }
        return chunk;
    }

    static asio::awaitable<void> answer(std::shared_ptr<impl> self, app_request_message request,
                                        std::string reply) {
        // On the strand throughout: the count goes down however the coroutine ends.
        struct count_down {
            std::size_t& n;
            ~count_down() { --n; }
        } guard{self->answering};
        // Leave the reply time to travel: a quarter of what is left, at least 50 ms.
        const auto budget = std::min(request.timeout, self->options.config.gather.timeout);
        const auto margin =
            std::max<std::chrono::milliseconds>(budget / 4, std::chrono::milliseconds(50));
        const auto deadline =
            clock::now() + std::max(budget - margin, std::chrono::milliseconds(0));
        std::vector<apps::contributed_exposition> held;
        if (request.kind == request_kind::app) {
            const apps::app_query query{.identifier = request.identifier,
                                        .app_guid = request.app_guid,
                                        .tags = request.tags.empty() ? nullptr : &request.tags,
                                        .apps = {}};
            for (apps::app_source* source : self->local_sources) {
                try {
                    co_await source->collect(query, deadline, held);
                } catch (const std::exception& error) {
                    self->log.error("cluster: local source failed for a peer",
                                    {{"app", request.app_guid}, {"error", error.what()}});
                }
            }
        } else if (request.kind == request_kind::connected && self->connected) {
            // Each client's exposition as it gave it: the asking node merges them as its own.
            std::vector<std::string> texts;
            try {
                co_await self->connected(deadline, texts);
            } catch (const std::exception& error) {
                self->log.error("cluster: connected clients failed for a peer",
                                {{"error", error.what()}});
            }
            held.reserve(texts.size());
            for (std::string& text : texts) {
                const exposition::format format = exposition::detect_format(text);
                held.push_back(apps::read_contribution(std::move(text), format));
            }
        }
        std::string text;
        const render_report report = render_contributions(held, text);
        if (report.unreadable > 0) {
            self->bad.Add({{"kind", "local_contribution"}})
                .Increment(static_cast<double>(report.unreadable));
        }
        // The proxy's own metrics and the apps list are no app's series: sent as they are.
        if (request.kind == request_kind::proxy && self->proxy) {
            text = self->proxy();
        } else if (request.kind == request_kind::apps) {
            std::vector<apps::directory_listing> listings;
            listings.reserve(self->directories.size());
            for (const apps::app_directory* directory : self->directories) {
                apps::directory_listing& listing = listings.emplace_back();
                listing.name = directory->directory_name();
                directory->list_apps(listing.apps);
            }
            text = encode_app_list(listings);
        }
        const std::vector<std::string_view> pieces = split_chunks(text, self->chunk_bytes());
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            const chunk_header header{.node = self->options.node_id,
                                      .request = request.request,
                                      .seq = static_cast<std::uint32_t>(i),
                                      .last = i + 1 == pieces.size()};
            if (!self->nats.publish(reply, encode_chunk(header, pieces[i]))) {
                self->publish_failures.Add({{"subject", "reply"}}).Increment();
                co_return;
            }
        }
        self->answered.Increment();
    }

    // --- gathering ---

    // Sends `request` (its id, sender and timeout filled in here) to the live peers and
    // returns the text of every peer that answered in full by `deadline` (capped by
    // gather.timeout); a peer missing makes the answer partial (counted, with the first
    // reason).
    static asio::awaitable<std::vector<std::string>> gather(std::shared_ptr<impl> self,
                                                            app_request_message request,
                                                            clock::time_point deadline) {
        std::vector<std::string> out;
        for (peer_answer& answer :
             co_await gather_answers(std::move(self), std::move(request), deadline)) {
            if (!answer.text.empty()) {
                out.push_back(std::move(answer.text));
            }
        }
        co_return out;
    }

    // A gather of `kind` (a request with no app) on the strand, from any thread.
    static asio::awaitable<std::vector<peer_answer>> ask_peers(std::shared_ptr<impl> self,
                                                               request_kind kind,
                                                               clock::time_point deadline) {
        app_request_message request;
        request.kind = kind;
        auto& strand = self->strand;
        co_return co_await asio::co_spawn(
            strand, gather_answers(std::move(self), std::move(request), deadline),
            asio::use_awaitable);
    }

    // As gather, with the node each text came from (empty texts kept).
    static asio::awaitable<std::vector<peer_answer>> gather_answers(std::shared_ptr<impl> self,
                                                                    app_request_message request,
                                                                    clock::time_point deadline) {
        std::vector<peer_answer> out;
        if (self->stopped) {
            co_return out;
        }
        if (!self->nats.status().connected) {
            self->partial.Add({{"reason", "nats_down"}}).Increment();
            co_return out;
        }
        // Peers of a version that does not answer this kind are not waited for: during a
        // rolling upgrade the answer leaves them out at once, counted, not at the timeout.
        // One count per answer: peer_version only when nothing else made it partial.
        std::vector<std::string> expected = self->table.live_peers_answering(request.kind);
        const bool older_left_out = expected.size() < self->table.peer_count();
        const auto count_older = [&] {
            if (older_left_out) {
                self->partial.Add({{"reason", "peer_version"}}).Increment();
            }
        };
        if (expected.empty()) {
            count_older();
            co_return out;
        }
        const auto now = clock::now();
        const auto end = std::min(deadline, now + self->options.config.gather.timeout);
        if (end <= now) {
            self->partial.Add({{"reason", "deadline"}}).Increment();
            co_return out;
        }
        const std::string id = std::to_string(++self->next_request);
        auto p = std::make_shared<pending>(pending{
            gather_state(id, std::move(expected), self->options.max_reply_bytes),
            asio::steady_timer(self->strand),
            self->memory != nullptr ? self->memory->empty_lease(core::memory_use::scrape_bodies)
                                    : core::memory_lease{}});
        request.request = id;
        request.from = self->options.node_id;
        request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
        const std::string& subject = self->subject_of(request.kind);
        if (!self->nats.publish(subject, encode_app_request(request), self->inbox_prefix + id)) {
            self->publish_failures.Add({{"subject", "request"}}).Increment();
            self->partial.Add({{"reason", "nats_down"}}).Increment();
            co_return out;
        }
        self->gathers.Increment();
        self->in_flight.emplace(id, p);
        if (!p->state.complete()) {
            p->timer.expires_at(end);
            co_await p->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        self->in_flight.erase(id);
        gather_result result = p->state.finish();
        if (result.partial()) {
            const missing_peer& first = result.missing.front();
            self->partial.Add({{"reason", std::string(to_string(first.reason))}}).Increment();
            self->log.debug("cluster: partial answer", {{"kind", to_string(request.kind)},
                                                        {"app", request.app_guid},
                                                        {"missing", first.node},
                                                        {"reason", to_string(first.reason)},
                                                        {"missing_peers", result.missing.size()}});
        } else {
            count_older();
        }
        co_return std::move(result.answers);
    }

    const std::string& subject_of(request_kind kind) const {
        switch (kind) {
            case request_kind::app:
                return request_subject;
            case request_kind::connected:
                return connected_subject;
            case request_kind::proxy:
                return proxy_subject;
            case request_kind::apps:
                return apps_subject;
        }
        return request_subject;
    }

    asio::strand<asio::io_context::executor_type> strand;
    cluster_service_options options;
    nats::client& nats;
    core::logger& log;
    core::memory_budget* memory;
    std::string boot;
    membership_table table;
    std::string heartbeat_subject;
    std::string request_subject;
    std::string connected_subject;
    std::string proxy_subject;
    std::string apps_subject;
    std::string inbox_prefix;
    asio::steady_timer timer;
    std::vector<apps::app_source*> local_sources;
    connected_source connected;
    std::function<std::string()> proxy;
    std::vector<const apps::app_directory*> directories;
    std::map<std::string, std::shared_ptr<pending>, std::less<>> in_flight;
    std::uint64_t next_request = 0;
    clock::time_point last_heartbeat{};
    bool was_connected = false;
    bool stopped = false;
    mutable std::mutex status_mutex;
    cluster_status published;
    std::size_t answering = 0;

    prometheus::Gauge& up;
    prometheus::Gauge& peers;
    prometheus::Family<prometheus::Counter>& changes;
    prometheus::Counter& gathers;
    prometheus::Family<prometheus::Counter>& partial;
    prometheus::Counter& answered;
    prometheus::Counter& refused;
    prometheus::Family<prometheus::Counter>& bad;
    prometheus::Family<prometheus::Counter>& publish_failures;
    prometheus::Family<prometheus::Counter>& ignored_chunks;
};

cluster_service::cluster_service(asio::io_context& io, cluster_service_options options,
                                 nats::client& nats, core::logger& log,
                                 prometheus::Registry& registry, core::memory_budget* memory)
    : impl_(std::make_shared<impl>(io, std::move(options), nats, log, registry, memory)) {
    const std::weak_ptr<impl> weak = impl_;
    // Handlers run on the NATS client's strand; the cluster's state lives on its own.
    using handler = void (*)(impl&, nats::message);
    const auto on_strand = [weak](handler handle) {
        return [weak, handle](nats::message m) {
            if (auto self = weak.lock()) {
                asio::post(self->strand, [self, handle, m = std::move(m)]() mutable {
                    handle(*self, std::move(m));
                });
            }
        };
    };
    nats.subscribe(impl_->heartbeat_subject,
                   on_strand(+[](impl& s, nats::message m) { s.on_heartbeat(m); }));
    nats.subscribe(impl_->request_subject,
                   on_strand(+[](impl& s, nats::message m) { s.on_request(std::move(m)); }));
    nats.subscribe(impl_->connected_subject,
                   on_strand(+[](impl& s, nats::message m) { s.on_request(std::move(m)); }));
    nats.subscribe(impl_->proxy_subject,
                   on_strand(+[](impl& s, nats::message m) { s.on_request(std::move(m)); }));
    nats.subscribe(impl_->apps_subject,
                   on_strand(+[](impl& s, nats::message m) { s.on_request(std::move(m)); }));
    nats.subscribe(impl_->inbox_prefix + ">",
                   on_strand(+[](impl& s, nats::message m) { s.on_chunk(m); }));
}

cluster_service::~cluster_service() = default;

void cluster_service::add_local_source(apps::app_source& source) {
    impl_->local_sources.push_back(&source);
}

cluster_status cluster_service::status() const {
    const std::lock_guard lock(impl_->status_mutex);
    return impl_->published;
}

void cluster_service::set_connected_source(connected_source source) {
    impl_->connected = std::move(source);
}

asio::awaitable<std::vector<std::string>> cluster_service::gather_connected(
    std::chrono::steady_clock::time_point deadline) {
    app_request_message request;
    request.kind = request_kind::connected;
    co_return co_await asio::co_spawn(
        impl_->strand, impl::gather(impl_, std::move(request), deadline), asio::use_awaitable);
}

void cluster_service::set_proxy_source(std::function<std::string()> source) {
    impl_->proxy = std::move(source);
}

void cluster_service::add_local_directory(const apps::app_directory& directory) {
    impl_->directories.push_back(&directory);
}

asio::awaitable<std::vector<peer_text>> cluster_service::gather_proxy(
    std::chrono::steady_clock::time_point deadline) {
    std::vector<peer_answer> answers =
        co_await impl::ask_peers(impl_, request_kind::proxy, deadline);
    std::vector<peer_text> out;
    out.reserve(answers.size());
    for (peer_answer& answer : answers) {
        // A peer without an RSocket proxy answers empty: it has no proxy metrics.
        if (!answer.text.empty()) {
            out.push_back({.node = std::move(answer.node), .text = std::move(answer.text)});
        }
    }
    co_return out;
}

asio::awaitable<std::vector<apps::remote_listing>> cluster_service::gather_apps(
    std::chrono::steady_clock::time_point deadline) {
    std::vector<peer_answer> answers =
        co_await impl::ask_peers(impl_, request_kind::apps, deadline);
    std::vector<apps::remote_listing> out;
    for (peer_answer& answer : answers) {
        std::optional<std::vector<apps::remote_listing>> listings = decode_app_list(answer.text);
        if (!listings) {
            impl_->bad.Add({{"kind", "app_list"}}).Increment();
            impl_->log.warn("cluster: a peer's apps list did not decode",
                            {{"peer", answer.node}, {"bytes", answer.text.size()}});
            continue;
        }
        std::move(listings->begin(), listings->end(), std::back_inserter(out));
    }
    co_return out;
}

void cluster_service::start() {
    impl& s = *impl_;
    s.log.info("cluster node starting",
               {{"cluster", s.options.config.name},
                {"node", s.options.node_id},
                {"boot_id", s.boot},
                {"heartbeat_ms", s.options.config.heartbeat.count()},
                {"gather_timeout_ms", s.options.config.gather.timeout.count()},
                {"chunk_bytes", s.options.config.gather.chunk_bytes}});
    s.publish_status();  // before the loop runs: nothing else touches the state yet
    asio::co_spawn(s.strand, impl::heartbeat_loop(impl_), asio::detached);
}

void cluster_service::stop() {
    asio::post(impl_->strand, [self = impl_] {
        self->stopped = true;
        self->timer.cancel();
        for (auto& [id, p] : self->in_flight) {
            p->timer.cancel();
        }
    });
}

asio::awaitable<void> cluster_service::collect(const apps::app_query& app,
                                               std::chrono::steady_clock::time_point deadline,
                                               std::vector<apps::contributed_exposition>& out) {
    // Peers are asked for apps a GUID names: pushed series and RSocket clients are kept by
    // app GUID, so an identifier no instance resolved has nothing on any peer either.
    if (app.local_only || app.app_guid.empty()) {
        co_return;
    }
    app_request_message request;
    request.kind = request_kind::app;
    request.identifier = std::string(app.identifier);
    request.app_guid = std::string(app.app_guid);
    if (app.tags != nullptr) {
        request.tags = *app.tags;
    }
    // On the cluster's strand; the caller resumes on its own executor afterwards.
    std::vector<std::string> gathered = co_await asio::co_spawn(
        impl_->strand, impl::gather(impl_, std::move(request), deadline), asio::use_awaitable);
    for (std::string& text : gathered) {
        out.push_back(peer_contribution(std::move(text)));
    }
}

}  // namespace mgw::cluster
