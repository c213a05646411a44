// NATS module: nats.c attached to Asio. nats.c calls attach/read/write/detach from its own
// threads; each call is turned into a post onto our strand, where a dup of its socket waits for
// readiness and natsConnection_ProcessReadEvent/ProcessWriteEvent run. Messages and connection
// events, which nats.c delivers on its threads, are copied and posted to the same strand.
#include <atomic>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <sys/ioctl.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <nats/nats.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mgw/nats/client.hpp>

#include "subscription_registry.hpp"

namespace mgw::nats {

namespace asio = boost::asio;

namespace {

int bytes_readable(int fd) {
    int n = 0;
    return ::ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

std::string server_url(const std::string& server) {
    return server.find("://") == std::string::npos ? "nats://" + server : server;
}

}  // namespace

struct client::state : std::enable_shared_from_this<client::state> {
    state(asio::any_io_executor s, client_options o, core::logger& l, prometheus::Registry& r)
        : strand(std::move(s)),
          options(std::move(o)),
          log(l),
          connected_gauge(prometheus::BuildGauge()
                              .Name("mgw_nats_connected")
                              .Help("1 while the NATS connection is established")
                              .Register(r)
                              .Add({})),
          disconnects(prometheus::BuildCounter()
                          .Name("mgw_nats_disconnects_total")
                          .Help("Established NATS connections that were lost")
                          .Register(r)
                          .Add({})),
          reconnects(prometheus::BuildCounter()
                         .Name("mgw_nats_reconnects_total")
                         .Help("Successful NATS reconnections")
                         .Register(r)
                         .Add({})),
          bad_messages(prometheus::BuildCounter()
                           .Name("mgw_nats_bad_messages_total")
                           .Help("NATS messages rejected by their decoder")
                           .Register(r)
                           .Add({})),
          async_errors(prometheus::BuildCounter()
                           .Name("mgw_nats_async_errors_total")
                           .Help("Asynchronous errors reported by nats.c (slow consumer, ...)")
                           .Register(r)
                           .Add({})),
          messages_family(prometheus::BuildCounter()
                              .Name("mgw_nats_messages_total")
                              .Help("NATS messages received, by subscription subject")
                              .Register(r)),
          dropped_queue_full(prometheus::BuildCounter()
                                 .Name("mgw_nats_dropped_messages_total")
                                 .Help("NATS messages dropped before being handled")
                                 .Register(r)
                                 .Add({{"reason", "queue_full"}})),
          subscriptions(
              this,
              subscription_callbacks{.on_message = &state::on_message,
                                     .on_fixed_complete = &state::on_subscription_complete,
                                     .on_dynamic_complete = &state::on_dynamic_complete},
              options, nats_refs, log) {}

    ~state() { release_descriptor(); }

    // --- nats.c callbacks (nats.c threads) ---

    static natsStatus ev_attach(void** user_data, void* loop, natsConnection* nc, natsSock fd) {
        auto* self = static_cast<state*>(loop);
        *user_data = self;
        // Our own descriptor for the socket: nats.c closes its fd on its threads whenever it
        // likes, and the reactor must never hold a registration for a number that was reused.
        const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            return NATS_SYS_ERROR;
        }
        asio::post(self->strand, [s = self->shared_from_this(), nc, copy] { s->attach(nc, copy); });
        return NATS_OK;
    }

    static natsStatus ev_read(void* user_data, bool add) {
        auto* self = static_cast<state*>(user_data);
        asio::post(self->strand, [s = self->shared_from_this(), add] { s->set_read(add); });
        return NATS_OK;
    }

    static natsStatus ev_write(void* user_data, bool add) {
        auto* self = static_cast<state*>(user_data);
        asio::post(self->strand, [s = self->shared_from_this(), add] { s->set_write(add); });
        return NATS_OK;
    }

    static natsStatus ev_detach(void* user_data) {
        auto* self = static_cast<state*>(user_data);
        asio::post(self->strand, [s = self->shared_from_this()] { s->detach(); });
        return NATS_OK;
    }

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        auto* sub = static_cast<subscription*>(closure);
        auto* self = static_cast<state*>(sub->owner);
        message m;
        m.subject = natsMsg_GetSubject(msg);
        if (const char* reply = natsMsg_GetReply(msg); reply != nullptr) {
            m.reply = reply;
        }
        m.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
        sub->messages->Increment();
        if (self->closed.load(std::memory_order_acquire)) {
            return;
        }
        if (self->queued.fetch_add(1, std::memory_order_relaxed) >=
            self->options.max_queued_messages) {
            self->queued.fetch_sub(1, std::memory_order_relaxed);
            self->dropped_queue_full.Increment();
            return;
        }
        asio::post(self->strand, [s = self->shared_from_this(), sub, m = std::move(m)]() mutable {
            s->queued.fetch_sub(1, std::memory_order_relaxed);
            if (!s->closed.load(std::memory_order_acquire) && sub->active) {
                sub->handler(std::move(m));
            }
        });
    }

    static void on_subscription_complete(void* closure) {
        // No handler call is left for this subscription: the last touch of `owner` by it.
        static_cast<state*>(static_cast<subscription*>(closure)->owner)->release_nats_ref();
    }

    static void on_dynamic_complete(void* closure) {
        // nats.c calls this after the subscription's last message callback, so every message
        // post of it is already queued on the strand: erasing behind them is safe.
        auto* sub = static_cast<subscription*>(closure);
        auto* self = static_cast<state*>(sub->owner);
        if (!self->closed.load(std::memory_order_acquire)) {
            asio::post(self->strand, [s = self->shared_from_this(), id = sub->dynamic_id] {
                s->subscriptions.forget(id);
            });
        }
        self->release_nats_ref();
    }

    static void on_connected_cb(natsConnection*, void* closure) {
        auto* self = static_cast<state*>(closure);
        self->connected_gauge.Set(1);
        self->log.info("nats connected", {{"servers", self->servers_text}});
        self->post_event(&state::connected_handler);
    }

    static void on_reconnected_cb(natsConnection*, void* closure) {
        auto* self = static_cast<state*>(closure);
        self->connected_gauge.Set(1);
        self->reconnects.Increment();
        self->log.info("nats reconnected", {{"servers", self->servers_text}});
        self->post_event(&state::connected_handler);
    }

    static void on_disconnected_cb(natsConnection*, void* closure) {
        auto* self = static_cast<state*>(closure);
        self->connected_gauge.Set(0);
        if (self->closed.load(std::memory_order_acquire)) {
            return;
        }
        self->disconnects.Increment();
        self->log.warn("nats disconnected; reconnecting", {{"servers", self->servers_text}});
        self->post_event(&state::disconnected_handler);
    }

    static void on_closed_cb(natsConnection*, void* closure) {
        auto* self = static_cast<state*>(closure);
        self->connected_gauge.Set(0);
        self->log.info("nats connection closed");
        // The last connection callback nats.c makes.
        self->release_nats_ref();
    }

    static void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
        auto* self = static_cast<state*>(closure);
        self->async_errors.Increment();
        self->log.warn("nats asynchronous error", {{"status", status_text(err)}});
    }

    void release_nats_ref() { nats_refs.fetch_sub(1, std::memory_order_acq_rel); }

    void post_event(event_handler state::*which) {
        if (closed.load(std::memory_order_acquire)) {
            return;
        }
        asio::post(strand, [s = shared_from_this(), which] {
            if (!s->closed.load(std::memory_order_acquire) && (*s).*which) {
                ((*s).*which)();
            }
        });
    }

    // --- event-loop glue (strand only) ---

    void attach(natsConnection* c, int fd) {
        release_descriptor();
        if (destroyed) {
            ::close(fd);
            return;
        }
        ++generation;
        loop_nc = c;
        descriptor.emplace(strand, fd);
        want_read = true;
        want_write = false;
        // Bytes may have arrived before the descriptor was registered; the reactor is
        // edge-triggered and would not report them.
        asio::post(strand, [s = shared_from_this(), g = generation] { s->on_readable(g); });
    }

    void detach() {
        release_descriptor();
        loop_nc = nullptr;
        ++generation;
    }

    void set_read(bool add) {
        want_read = add;
        if (add) {
            asio::post(strand, [s = shared_from_this(), g = generation] { s->on_readable(g); });
        }
    }

    void set_write(bool add) {
        want_write = add;
        if (add) {
            // nats.c asks for write interest whenever it has buffered bytes, usually while the
            // socket is writable and no new edge will come: try the write right away.
            asio::post(strand, [s = shared_from_this(), g = generation] { s->on_writable(g); });
        }
    }

    void arm_read() {
        if (read_armed || !descriptor) {
            return;
        }
        read_armed = true;
        descriptor->async_wait(
            asio::posix::stream_descriptor::wait_read,
            [s = shared_from_this(), g = generation](boost::system::error_code ec) {
                if (g != s->generation) {
                    return;
                }
                s->read_armed = false;
                if (ec == asio::error::operation_aborted) {
                    return;
                }
                // Errors too: nats.c finds out on read and reconnects.
                s->on_readable(g);
            });
    }

    void arm_write() {
        if (write_armed || !descriptor) {
            return;
        }
        write_armed = true;
        descriptor->async_wait(
            asio::posix::stream_descriptor::wait_write,
            [s = shared_from_this(), g = generation](boost::system::error_code ec) {
                if (g != s->generation) {
                    return;
                }
                s->write_armed = false;
                if (ec == asio::error::operation_aborted) {
                    return;
                }
                s->on_writable(g);
            });
    }

    void on_readable(std::uint64_t g) {
        if (g != generation || loop_nc == nullptr || !want_read || !descriptor) {
            return;
        }
        // Armed before reading so that bytes arriving meanwhile produce an edge we wait for.
        arm_read();
        const int before = bytes_readable(descriptor->native_handle());
        natsConnection_ProcessReadEvent(loop_nc);
        // nats.c reads at most one buffer per call. Data left behind gives no new edge, so come
        // back for it, but only while nats.c makes progress (it ignores reads while reconnecting).
        const int after = bytes_readable(descriptor->native_handle());
        if (after > 0 && after < before) {
            asio::post(strand, [s = shared_from_this(), g] { s->on_readable(g); });
        }
    }

    void on_writable(std::uint64_t g) {
        if (g != generation || loop_nc == nullptr || !want_write || !descriptor) {
            return;
        }
        // nats.c takes a zero-byte send() for a closed socket and reconnects, losing what was
        // published meanwhile. A stale writable edge (the buffer was flushed since it was
        // armed) must therefore not reach it: with nothing buffered, wait for nats.c to ask.
        if (natsConnection_Buffered(loop_nc) <= 0) {
            return;
        }
        arm_write();
        natsConnection_ProcessWriteEvent(loop_nc);
    }

    void release_descriptor() {
        if (descriptor) {
            // release() cancels the waits and deregisters without touching the socket's flags,
            // which the dup shares with nats.c's fd.
            ::close(descriptor->release());
            descriptor.reset();
        }
        read_armed = false;
        write_armed = false;
    }

    void destroy_connection() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        release_descriptor();
        loop_nc = nullptr;
        ++generation;
        subscriptions.destroy_handles();
        if (natsConnection* c = nc.exchange(nullptr); c != nullptr) {
            natsConnection_Destroy(c);
        }
    }

    asio::any_io_executor strand;
    client_options options;
    core::logger& log;
    std::string servers_text;
    prometheus::Gauge& connected_gauge;
    prometheus::Counter& disconnects;
    prometheus::Counter& reconnects;
    prometheus::Counter& bad_messages;
    prometheus::Counter& async_errors;
    prometheus::Family<prometheus::Counter>& messages_family;
    prometheus::Counter& dropped_queue_full;

    event_handler connected_handler;
    event_handler disconnected_handler;

    std::atomic<natsConnection*> nc{nullptr};
    std::atomic<bool> closed{false};
    std::atomic<std::size_t> queued{0};
    // Callers from nats.c threads still to come: the connection's closed callback and one
    // on-complete callback per subscription. The destructor waits for them.
    std::atomic<int> nats_refs{0};
    subscription_registry subscriptions;
    std::thread connector;
    bool started = false;

    // Strand only.
    natsConnection* loop_nc = nullptr;
    std::optional<asio::posix::stream_descriptor> descriptor;
    std::uint64_t generation = 0;
    // Set from whichever thread nats.c calls the event-loop callbacks on (its ping timer and
    // reconnect threads included), read on the strand.
    std::atomic<bool> want_read = false;
    std::atomic<bool> want_write = false;
    bool read_armed = false;
    bool write_armed = false;
    bool destroyed = false;
};

client::client(asio::any_io_executor strand, client_options options, core::logger& log,
               prometheus::Registry& registry)
    : state_(std::make_shared<state>(std::move(strand), std::move(options), log, registry)) {
    for (const auto& server : state_->options.servers) {
        state_->servers_text += (state_->servers_text.empty() ? "" : ",") + server;
    }
}

client::~client() {
    if (!state_->closed.exchange(true)) {
        if (state_->connector.joinable()) {
            state_->connector.join();
        }
        if (natsConnection* c = state_->nc.load(); c != nullptr) {
            natsConnection_Close(c);
        }
    }
    if (state_->connector.joinable()) {
        state_->connector.join();
    }
    // The loop no longer runs our handlers (see close()), so the strand-owned members are ours.
    state_->destroy_connection();
    // nats.c still calls back once per subscription and once for the closed connection, from
    // its own threads, shortly after the close.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (state_->nats_refs.load(std::memory_order_acquire) > 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (state_->nats_refs.load(std::memory_order_acquire) > 0) {
        state_->log.error("nats.c did not release the client in time; leaking it");
        static_cast<void>(new std::shared_ptr<state>(state_));
    }
}

void client::subscribe(std::string subject, message_handler handler) {
    if (state_->started) {
        throw std::logic_error("nats client: subscribe() after start()");
    }
    prometheus::Counter& messages = state_->messages_family.Add({{"subject", subject}});
    state_->subscriptions.add_fixed(std::move(subject), std::move(handler), messages);
}

void client::on_connected(event_handler handler) {
    state_->connected_handler = std::move(handler);
}

client::subscription_id client::queue_subscribe(std::string subject, std::string queue,
                                                message_handler handler) {
    state& s = *state_;
    natsConnection* c = s.nc.load();
    if (c == nullptr || s.closed.load() || s.destroyed) {
        return 0;
    }
    prometheus::Counter& messages = s.messages_family.Add({{"subject", subject}});
    return s.subscriptions.subscribe_queue(c, std::move(subject), queue, std::move(handler),
                                           messages);
}

void client::unsubscribe(subscription_id id) {
    state_->subscriptions.unsubscribe(id);
}

void client::on_disconnected(event_handler handler) {
    state_->disconnected_handler = std::move(handler);
}

void client::start() {
    state& s = *state_;
    if (s.started) {
        throw std::logic_error("nats client: start() called twice");
    }
    if (s.options.servers.empty()) {
        throw std::invalid_argument("nats: no servers configured");
    }
    natsOptions* opts = nullptr;
    if (natsOptions_Create(&opts) != NATS_OK) {
        throw std::runtime_error("nats: cannot create options");
    }
    std::vector<std::string> urls;
    for (const auto& server : s.options.servers) {
        urls.push_back(server_url(server));
    }
    std::vector<const char*> url_ptrs;
    for (const auto& url : urls) {
        url_ptrs.push_back(url.c_str());
    }
    const auto check = [&](natsStatus status, const char* what) {
        if (status != NATS_OK) {
            natsOptions_Destroy(opts);
            throw std::invalid_argument(std::string("nats: ") + what + ": " + status_text(status));
        }
    };
    const auto& o = s.options;
    check(natsOptions_SetServers(opts, url_ptrs.data(), static_cast<int>(url_ptrs.size())),
          "servers");
    if (!o.user.empty()) {
        check(natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str()), "user");
    }
    if (o.tls.enabled) {
        check(natsOptions_SetSecure(opts, true), "tls");
        if (!o.tls.ca_file.empty()) {
            check(natsOptions_LoadCATrustedCertificates(opts, o.tls.ca_file.c_str()),
                  "tls.ca_file");
        }
        if (!o.tls.cert_file.empty() || !o.tls.key_file.empty()) {
            check(natsOptions_LoadCertificatesChain(opts, o.tls.cert_file.c_str(),
                                                    o.tls.key_file.c_str()),
                  "tls.cert_file/key_file");
        }
        check(natsOptions_SkipServerVerification(opts, o.tls.skip_verify), "tls.skip_verify");
    }
    check(natsOptions_SetName(opts, o.name.c_str()), "name");
    check(natsOptions_SetTimeout(opts, o.connect_timeout.count()), "connect_timeout");
    check(natsOptions_SetAllowReconnect(opts, true), "allow_reconnect");
    check(natsOptions_SetMaxReconnect(opts, -1), "max_reconnect");
    check(natsOptions_SetReconnectWait(opts, o.reconnect_wait.count()), "reconnect_wait");
    check(natsOptions_SetReconnectJitter(opts, o.reconnect_jitter.count(),
                                         o.reconnect_jitter_tls.count()),
          "reconnect_jitter");
    check(natsOptions_SetPingInterval(opts, o.ping_interval.count()), "ping_interval");
    check(natsOptions_SetMaxPingsOut(opts, o.max_pings_out), "max_pings_out");
    check(natsOptions_SetRetryOnFailedConnect(opts, true, &state::on_connected_cb, &s),
          "retry_on_failed_connect");
    check(natsOptions_SetDisconnectedCB(opts, &state::on_disconnected_cb, &s), "disconnected_cb");
    check(natsOptions_SetReconnectedCB(opts, &state::on_reconnected_cb, &s), "reconnected_cb");
    check(natsOptions_SetClosedCB(opts, &state::on_closed_cb, &s), "closed_cb");
    check(natsOptions_SetErrorHandler(opts, &state::on_async_error, &s), "error_handler");
    check(natsOptions_SetEventLoop(opts, &s, &state::ev_attach, &state::ev_read, &state::ev_write,
                                   &state::ev_detach),
          "event_loop");

    s.started = true;
    s.nats_refs.fetch_add(1);
    s.connector = std::thread([self = state_, opts] {
        natsConnection* c = nullptr;
        const natsStatus status = natsConnection_Connect(&c, opts);
        natsOptions_Destroy(opts);
        if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
            self->log.error("nats connect failed", {{"status", status_text(status)}});
            self->release_nats_ref();
            return;
        }
        self->nc.store(c);
        self->subscriptions.subscribe_fixed(c);
        if (status == NATS_OK) {
            self->connected_gauge.Set(1);
            self->log.info("nats connected", {{"servers", self->servers_text}});
            self->post_event(&state::connected_handler);
        } else {
            self->log.warn("nats not reachable yet; retrying in the background",
                           {{"servers", self->servers_text}});
        }
    });
}

bool client::publish(std::string_view subject, std::string_view data) {
    natsConnection* c = state_->nc.load();
    if (c == nullptr || state_->closed.load()) {
        return false;
    }
    const std::string subj(subject);
    return natsConnection_Publish(c, subj.c_str(), data.data(), static_cast<int>(data.size())) ==
           NATS_OK;
}

bool client::publish(std::string_view subject, std::string_view data, std::string_view reply) {
    natsConnection* c = state_->nc.load();
    if (c == nullptr || state_->closed.load()) {
        return false;
    }
    const std::string subj(subject);
    const std::string reply_subject(reply);
    return natsConnection_PublishRequest(c, subj.c_str(), reply_subject.c_str(), data.data(),
                                         static_cast<int>(data.size())) == NATS_OK;
}

std::int64_t client::max_payload() const {
    natsConnection* c = state_->nc.load();
    if (c == nullptr || state_->closed.load() ||
        natsConnection_Status(c) != NATS_CONN_STATUS_CONNECTED) {
        return 0;
    }
    return natsConnection_GetMaxPayload(c);
}

void client::count_bad_message() {
    state_->bad_messages.Increment();
}

bool client::connected() const {
    natsConnection* c = state_->nc.load();
    return c != nullptr && natsConnection_Status(c) == NATS_CONN_STATUS_CONNECTED;
}

client_status client::status() const {
    const state& s = *state_;
    client_status status;
    status.connected = s.connected_gauge.Value() == 1;
    status.disconnects = static_cast<std::uint64_t>(s.disconnects.Value());
    status.reconnects = static_cast<std::uint64_t>(s.reconnects.Value());
    for (const std::string& server : s.options.servers) {
        // nats://user:password@host:port: the page never shows a credential.
        const std::size_t scheme = server.find("://");
        const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
        const std::size_t at = server.rfind('@');
        if (at != std::string::npos && at >= start) {
            status.servers.push_back(server.substr(0, start) + server.substr(at + 1));
        } else {
            status.servers.push_back(server);
        }
    }
    return status;
}

void client::close() {
    state& s = *state_;
    if (s.closed.exchange(true)) {
        return;
    }
    if (s.connector.joinable()) {
        s.connector.join();
    }
    if (natsConnection* c = s.nc.load(); c != nullptr) {
        // Synchronous: joins nats.c's reconnect and ping threads and calls our detach, which
        // only posts. Destroying must wait until that post and any readiness handler queued
        // before it have run, hence another post rather than destroying here.
        natsConnection_Close(c);
    }
    asio::post(s.strand, [self = state_] { self->destroy_connection(); });
}

}  // namespace mgw::nats
