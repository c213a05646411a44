// The JetStream KV shell of shared broker bindings: a thread-driven nats.c connection (not the
// loop-driven one of the core traffic, whose Request/Flush would time out on the loop), a writer
// thread and a watch thread. No decision is taken here beyond "retry or give up".
#include "binding_kv.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <nats/nats.h>

namespace mgw::cluster {

namespace {

std::string url_of(const std::string& server) {
    return server.find("://") == std::string::npos ? "nats://" + server : server;
}

// Statuses that mean "no JetStream answer now" (no server, no stream leader, a reconnect in
// progress): worth retrying until retry_for runs out.
bool transient(natsStatus s) {
    return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_CLOSED ||
           s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED ||
           s == NATS_NO_SERVER || s == NATS_STALE_CONNECTION || s == NATS_IO_ERROR;
}

std::string status_text(natsStatus s) {
    std::string text = natsStatus_GetText(s);
    const char* last = nats_GetLastError(nullptr);
    if (last != nullptr && *last != '\0') {
        text += ": ";
        text += last;
    }
    return text;
}

}  // namespace

struct binding_kv::impl {
    using value_change = binding_kv::value_change;

    // How often a quiet watch compares itself with the bucket's last sequence.
    static constexpr std::chrono::milliseconds stall_check{200};

    binding_kv_options options;
    core::logger& log;

    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    kvStore* kv = nullptr;

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    std::deque<completion> pending;  // one per job, to answer `unavailable` at stop
    std::atomic<bool> stopping{false};
    std::thread writer;
    std::thread watcher;
    kvWatcher* current_watch = nullptr;  // under `mutex`: stop() interrupts it
    // steady_clock ticks of JetStream's last answer; 0: never.
    std::atomic<std::int64_t> answered_at{0};

    void answered() {
        answered_at.store(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    impl(binding_kv_options o, core::logger& l) : options(std::move(o)), log(l) {}

    ~impl() {
        shutdown();
        if (kv != nullptr) {
            kvStore_Destroy(kv);
        }
        if (js != nullptr) {
            jsCtx_Destroy(js);
        }
        if (nc != nullptr) {
            natsConnection_Destroy(nc);
        }
    }

    void shutdown() {
        {
            const std::lock_guard lock(mutex);
            if (stopping.exchange(true)) {
                return;
            }
            if (current_watch != nullptr) {
                kvWatcher_Stop(current_watch);
            }
        }
        wake.notify_all();
        if (writer.joinable()) {
            writer.join();
        }
        if (watcher.joinable()) {
            watcher.join();
        }
        // Writes never run: their callers hear "unavailable", never silence.
        std::deque<completion> left;
        {
            const std::lock_guard lock(mutex);
            left.swap(pending);
            jobs.clear();
        }
        for (auto& done : left) {
            done(kv_write_result{.outcome = kv_write_result::status::unavailable,
                                 .revision = 0,
                                 .stored = {},
                                 .error = "stopped"});
        }
        if (nc != nullptr) {
            natsConnection_Close(nc);
        }
    }

    bool connect(std::chrono::milliseconds timeout, std::string& error) {
        natsOptions* opts = nullptr;
        if (natsOptions_Create(&opts) != NATS_OK) {
            error = "cannot create NATS options";
            return false;
        }
        std::vector<std::string> urls;
        for (const auto& server : options.connection.servers) {
            urls.push_back(url_of(server));
        }
        std::vector<const char*> url_ptrs;
        for (const auto& url : urls) {
            url_ptrs.push_back(url.c_str());
        }
        const auto& o = options.connection;
        natsStatus s = natsOptions_SetServers(opts, url_ptrs.data(), static_cast<int>(urls.size()));
        if (s == NATS_OK && !o.user.empty()) {
            s = natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str());
        }
        if (s == NATS_OK && o.tls.enabled) {
            s = natsOptions_SetSecure(opts, true);
            if (s == NATS_OK && !o.tls.ca_file.empty()) {
                s = natsOptions_LoadCATrustedCertificates(opts, o.tls.ca_file.c_str());
            }
            if (s == NATS_OK && (!o.tls.cert_file.empty() || !o.tls.key_file.empty())) {
                s = natsOptions_LoadCertificatesChain(opts, o.tls.cert_file.c_str(),
                                                      o.tls.key_file.c_str());
            }
            if (s == NATS_OK) {
                s = natsOptions_SkipServerVerification(opts, o.tls.skip_verify);
            }
        }
        const std::string name = o.name + "-bindings";
        if (s == NATS_OK) {
            s = natsOptions_SetName(opts, name.c_str());
        }
        if (s == NATS_OK) {
            s = natsOptions_SetTimeout(opts, timeout.count());
        }
        // Never give up on the servers; come back quickly after one of them is lost.
        if (s == NATS_OK) {
            s = natsOptions_SetMaxReconnect(opts, -1);
        }
        if (s == NATS_OK) {
            s = natsOptions_SetReconnectWait(opts, 250);
        }
        if (s == NATS_OK) {
            s = natsConnection_Connect(&nc, opts);
        }
        natsOptions_Destroy(opts);
        if (s != NATS_OK) {
            error = "NATS connect: " + status_text(s);
            nc = nullptr;
            return false;
        }
        return true;
    }

    bool open_bucket(std::chrono::milliseconds timeout, std::string& error) {
        jsOptions jo;
        jsOptions_Init(&jo);
        // Each JetStream request waits at most this long: a write then has room for retries
        // within retry_for across a stream-leader change (bucket creation included).
        jo.Wait = std::min<std::int64_t>(timeout.count(), 1000);
        natsStatus s = js == nullptr ? natsConnection_JetStream(&js, nc, &jo) : NATS_OK;
        if (s != NATS_OK) {
            js = nullptr;
            error = "JetStream context: " + status_text(s);
            return false;
        }
        s = js_KeyValue(&kv, js, options.bucket.c_str());
        if (s == NATS_OK) {
            return true;
        }
        if (s != NATS_NOT_FOUND) {
            error = "JetStream KV " + options.bucket + ": " + status_text(s);
            return false;
        }
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = options.bucket.c_str();
        cfg.Description = "metrics-gateway broker instances and bindings";
        cfg.History = 5;
        cfg.StorageType = js_FileStorage;
        cfg.Replicas = options.replicas;
        s = js_CreateKeyValue(&kv, js, &cfg);
        if (s != NATS_OK) {
            error = "JetStream KV create " + options.bucket + ": " + status_text(s);
            kv = nullptr;
            return false;
        }
        return true;
    }

    void writer_loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [this] { return stopping.load() || !jobs.empty(); });
                if (stopping.load()) {
                    return;
                }
                job = std::move(jobs.front());
                jobs.pop_front();
                pending.pop_front();
            }
            job();
        }
    }

    void submit(std::function<void()> job, completion done) {
        {
            const std::lock_guard lock(mutex);
            if (!stopping.load() && kv != nullptr) {
                jobs.push_back(std::move(job));
                pending.push_back(std::move(done));
                wake.notify_one();
                return;
            }
        }
        done(kv_write_result{.outcome = kv_write_result::status::unavailable,
                             .revision = 0,
                             .stored = {},
                             .error = "bindings bucket not open"});
    }

    // Runs `attempt` until it gives a non-transient status or retry_for runs out, backing off
    // 50 ms doubling to 400 ms.
    template <typename Attempt>
    natsStatus with_retry(Attempt attempt) {
        const auto deadline = std::chrono::steady_clock::now() + options.retry_for;
        auto pause = std::chrono::milliseconds(50);
        for (;;) {
            const natsStatus s = attempt();
            if (!transient(s)) {
                answered();
            }
            if (!transient(s) || stopping.load() ||
                std::chrono::steady_clock::now() + pause >= deadline) {
                return s;
            }
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(400));
        }
    }

    kv_write_result do_create(const std::string& key, const std::string& value) {
        kv_write_result result;
        const auto deadline = std::chrono::steady_clock::now() + options.retry_for;
        for (;;) {
            std::uint64_t rev = 0;
            natsStatus s = with_retry([&] {
                return kvStore_Create(&rev, kv, key.c_str(), value.data(),
                                      static_cast<int>(value.size()));
            });
            if (s == NATS_OK) {
                result.outcome = kv_write_result::status::done;
                result.revision = rev;
                return result;
            }
            if (transient(s)) {
                result.outcome = kv_write_result::status::unavailable;
                result.error = status_text(s);
                return result;
            }
            // Refused: most likely a live record under the key ("wrong last sequence"). Read it
            // to tell the caller what is there; gone meanwhile (deleted): create again.
            kvEntry* entry = nullptr;
            s = with_retry([&] { return kvStore_Get(&entry, kv, key.c_str()); });
            if (s == NATS_OK) {
                result.outcome = kv_write_result::status::exists;
                result.revision = kvEntry_Revision(entry);
                result.stored.assign(static_cast<const char*>(kvEntry_Value(entry)),
                                     static_cast<std::size_t>(kvEntry_ValueLen(entry)));
                kvEntry_Destroy(entry);
                return result;
            }
            if (std::chrono::steady_clock::now() >= deadline || stopping.load()) {
                // A refused create with nothing readable behind it: JetStream is not answering
                // as it should (no stream leader yet answers with an error, not silence).
                result.outcome = s == NATS_NOT_FOUND || transient(s)
                                     ? kv_write_result::status::unavailable
                                     : kv_write_result::status::failed;
                result.error = status_text(s);
                return result;
            }
            if (s != NATS_NOT_FOUND) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
    }

    kv_write_result do_update(const std::string& key, const std::string& value,
                              std::uint64_t last) {
        kv_write_result result;
        std::uint64_t rev = 0;
        const natsStatus s = with_retry([&] {
            return kvStore_Update(&rev, kv, key.c_str(), value.data(),
                                  static_cast<int>(value.size()), last);
        });
        if (s == NATS_OK) {
            result.outcome = kv_write_result::status::done;
            result.revision = rev;
        } else {
            result.outcome = transient(s) ? kv_write_result::status::unavailable
                                          : kv_write_result::status::failed;
            result.error = status_text(s);
        }
        return result;
    }

    // The live value under `key` (NATS_NOT_FOUND also for a delete marker).
    kv_write_result do_get(const std::string& key) {
        kv_write_result result;
        kvEntry* entry = nullptr;
        const natsStatus s = with_retry([&] { return kvStore_Get(&entry, kv, key.c_str()); });
        if (s == NATS_OK) {
            result.outcome = kv_write_result::status::done;
            result.revision = kvEntry_Revision(entry);
            result.stored.assign(static_cast<const char*>(kvEntry_Value(entry)),
                                 static_cast<std::size_t>(kvEntry_ValueLen(entry)));
            kvEntry_Destroy(entry);
        } else if (s == NATS_NOT_FOUND) {
            result.outcome = kv_write_result::status::absent;
        } else {
            result.outcome = transient(s) ? kv_write_result::status::unavailable
                                          : kv_write_result::status::failed;
            result.error = status_text(s);
        }
        return result;
    }

    kv_write_result do_modify(const std::string& key, const value_change& change) {
        const auto deadline = std::chrono::steady_clock::now() + options.retry_for;
        for (;;) {
            kv_write_result read = do_get(key);
            if (read.outcome != kv_write_result::status::done) {
                return read;
            }
            const auto wanted = change(read.stored);
            if (!wanted) {
                read.outcome = kv_write_result::status::failed;
                read.error = "the stored record cannot be changed";
                return read;
            }
            kv_write_result written = do_update(key, *wanted, read.revision);
            // Failed without being transient: most likely "wrong last sequence" (another
            // node's write came between): read again.
            if (written.outcome != kv_write_result::status::failed ||
                std::chrono::steady_clock::now() >= deadline || stopping.load()) {
                return written;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    kv_write_result do_remove(const std::string& key) {
        kv_write_result result;
        const natsStatus s = with_retry([&] { return kvStore_Delete(kv, key.c_str()); });
        if (s == NATS_OK) {
            result.outcome = kv_write_result::status::done;
        } else {
            result.outcome = transient(s) ? kv_write_result::status::unavailable
                                          : kv_write_result::status::failed;
            result.error = status_text(s);
        }
        return result;
    }

    // True when the bucket's stream holds a message after `seen` (the watch is behind). An
    // unanswered question is no evidence either way.
    bool watch_behind(std::uint64_t seen) {
        const std::string stream = "KV_" + options.bucket;
        jsStreamInfo* info = nullptr;
        if (js_GetStreamInfo(&info, js, stream.c_str(), nullptr, nullptr) != NATS_OK) {
            return false;
        }
        answered();
        const bool behind = info->State.LastSeq > seen;
        jsStreamInfo_Destroy(info);
        return behind;
    }

    void watch_loop(const std::function<void(kv_change)>& on_change,
                    const std::function<void()>& on_synced) {
        bool synced = false;
        while (!stopping.load()) {
            kvWatcher* w = nullptr;
            kvWatchOptions wo;
            kvWatchOptions_Init(&wo);
            const natsStatus started = kvStore_WatchAll(&w, kv, &wo);
            if (started != NATS_OK) {
                log.warn("cluster bindings watch cannot start; retrying",
                         {{"bucket", options.bucket}, {"status", status_text(started)}});
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
                continue;
            }
            {
                const std::lock_guard lock(mutex);
                if (stopping.load()) {
                    kvWatcher_Destroy(w);
                    return;
                }
                current_watch = w;
            }
            std::uint64_t seen = 0;
            int behind = 0;
            bool stalled = false;
            auto next_check = std::chrono::steady_clock::now() + stall_check;
            for (;;) {
                kvEntry* entry = nullptr;
                const natsStatus s = kvWatcher_Next(&entry, w, 250);
                if (s == NATS_TIMEOUT) {
                    if (std::chrono::steady_clock::now() < next_check) {
                        continue;
                    }
                    next_check = std::chrono::steady_clock::now() + stall_check;
                    // nats.c 3.4.1's ordered consumer notices a consumer lost with its server
                    // only after two missed 5 s heartbeats; the bucket's last sequence ahead of
                    // what the watch delivered, twice running, restarts it sooner.
                    behind = watch_behind(seen) ? behind + 1 : 0;
                    if (behind >= 2) {
                        stalled = true;
                        log.warn("cluster bindings watch stalled; restarting",
                                 {{"bucket", options.bucket}, {"revision", seen}});
                        break;
                    }
                    continue;
                }
                if (s != NATS_OK) {
                    if (!stopping.load()) {
                        log.warn("cluster bindings watch ended; restarting",
                                 {{"bucket", options.bucket}, {"status", status_text(s)}});
                    }
                    break;
                }
                if (entry == nullptr) {  // the initial values are through
                    if (!synced) {
                        synced = true;
                        on_synced();
                    }
                    continue;
                }
                answered();
                kv_change change;
                change.operation = kvEntry_Operation(entry) == kvOp_Put ? kv_change::op::put
                                                                        : kv_change::op::remove;
                change.key = kvEntry_Key(entry);
                change.revision = kvEntry_Revision(entry);
                seen = std::max(seen, change.revision);
                if (change.operation == kv_change::op::put) {
                    change.value.assign(static_cast<const char*>(kvEntry_Value(entry)),
                                        static_cast<std::size_t>(kvEntry_ValueLen(entry)));
                }
                kvEntry_Destroy(entry);
                on_change(std::move(change));
            }
            {
                const std::lock_guard lock(mutex);
                current_watch = nullptr;
            }
            kvWatcher_Destroy(w);
            // A stalled watch restarts at once (its connection is fine); an ended one waits a
            // little for the connection to come back.
            if (!stopping.load() && !stalled) {
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        }
    }
};

binding_kv::binding_kv(binding_kv_options options, core::logger& log)
    : impl_(std::make_unique<impl>(std::move(options), log)) {}

binding_kv::~binding_kv() = default;

bool binding_kv::open(std::chrono::milliseconds timeout, std::string& error) {
    if (impl_->options.connection.servers.empty()) {
        error = "no NATS servers";
        return false;
    }
    // Called again after a failure (JetStream electing its meta leader): keeps what worked.
    if (impl_->nc == nullptr && !impl_->connect(timeout, error)) {
        return false;
    }
    if (impl_->kv == nullptr && !impl_->open_bucket(timeout, error)) {
        return false;
    }
    if (!impl_->writer.joinable()) {
        impl_->writer = std::thread([this] { impl_->writer_loop(); });
    }
    return true;
}

void binding_kv::watch(std::function<void(kv_change)> on_change, std::function<void()> on_synced) {
    if (impl_->kv == nullptr || impl_->watcher.joinable()) {
        return;
    }
    impl_->watcher =
        std::thread([this, on_change = std::move(on_change), on_synced = std::move(on_synced)] {
            impl_->watch_loop(on_change, on_synced);
        });
}

void binding_kv::create(std::string key, std::string value, completion done) {
    auto job = [this, key = std::move(key), value = std::move(value), done]() {
        done(impl_->do_create(key, value));
    };
    impl_->submit(std::move(job), done);
}

void binding_kv::update(std::string key, std::string value, std::uint64_t last_revision,
                        completion done) {
    auto job = [this, key = std::move(key), value = std::move(value), last_revision, done]() {
        done(impl_->do_update(key, value, last_revision));
    };
    impl_->submit(std::move(job), done);
}

void binding_kv::remove(std::string key, completion done) {
    auto job = [this, key = std::move(key), done]() { done(impl_->do_remove(key)); };
    impl_->submit(std::move(job), done);
}

void binding_kv::get(std::string key, completion done) {
    auto job = [this, key = std::move(key), done]() { done(impl_->do_get(key)); };
    impl_->submit(std::move(job), done);
}

void binding_kv::modify(std::string key, value_change change, completion done) {
    auto job = [this, key = std::move(key), change = std::move(change), done]() {
        done(impl_->do_modify(key, change));
    };
    impl_->submit(std::move(job), done);
}

std::optional<std::chrono::steady_clock::time_point> binding_kv::last_answer() const {
    const std::int64_t at = impl_->answered_at.load();
    if (at == 0) {
        return std::nullopt;
    }
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(at));
}

void binding_kv::stop() {
    impl_->shutdown();
}

}  // namespace mgw::cluster
