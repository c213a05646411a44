// Integration test: shared broker bindings through JetStream KV with nats.c 3.4.1, against a real
// three-node nats-server cluster with JetStream on loopback (started and stopped here). Two
// "nodes" (binding_kv + replica + binding index each, as a gateway holds them) share the R3
// bucket: a binding written through one authorises its key in the other's index within a second;
// with one nats-server killed a new write still succeeds (retry across the leader change) and
// reaches the other node; a delete revokes on the other node within a second.
#include "cluster/binding_kv.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <mgw/broker/binding_index.hpp>
#include <mgw/core/log.hpp>

#include "cluster/binding_records.hpp"
#include "support/nats_server.hpp"

using namespace std::chrono_literals;
using namespace mgw;
using namespace mgw::cluster;
using mgw::integration::free_port;
using mgw::integration::nats_server;
using mgw::integration::wait_until;

namespace {

std::string sha256_hex(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += "0123456789abcdef"[digest[i] >> 4];
        out += "0123456789abcdef"[digest[i] & 0x0f];
    }
    return out;
}

// Three routed nats-servers with JetStream, each with its own store directory.
class js_cluster {
  public:
    js_cluster() {
        char tmpl[] = "/tmp/mgw-kv-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            throw std::runtime_error("mkdtemp");
        }
        dir_ = tmpl;
        for (auto& p : client_) {
            p = free_port();
        }
        for (auto& p : route_) {
            p = free_port();
        }
        std::string routes;
        for (const int p : route_) {
            routes += (routes.empty() ? "" : ", ") + std::string("nats-route://127.0.0.1:") +
                      std::to_string(p);
        }
        for (std::size_t i = 0; i < 3; ++i) {
            const auto conf = dir_ / ("n" + std::to_string(i + 1) + ".conf");
            std::ofstream out(conf);
            out << "server_name: n" << i + 1 << "\nlisten: 127.0.0.1:" << client_[i]
                << "\njetstream { store_dir: \"" << (dir_ / ("js" + std::to_string(i + 1))).string()
                << "\", max_mem_store: 64MB, max_file_store: 256MB }\n"
                << "cluster { name: mgwkvtest, listen: 127.0.0.1:" << route_[i] << ", routes: ["
                << routes << "] }\n";
            out.close();
            servers_[i].emplace(client_[i], conf.string(),
                                (dir_ / ("n" + std::to_string(i + 1) + ".log")).string());
        }
    }
    ~js_cluster() {
        // Stopped before their store directories go.
        for (auto& server : servers_) {
            server.reset();
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string url(std::size_t i) const { return servers_[i]->url(); }

    void kill(std::size_t i, int signal) { servers_[i]->stop(signal); }

  private:
    std::filesystem::path dir_;
    std::array<int, 3> client_{};
    std::array<int, 3> route_{};
    std::array<std::optional<nats_server>, 3> servers_;
};

// What a gateway holds: the KV shell, the replica and the push path's index.
struct node {
    core::logger log{core::log_level::warn};
    std::mutex mutex;  // the strand the watch's changes are applied on
    binding_replica replica;
    broker::binding_index index;
    std::promise<void> synced;
    std::unique_ptr<binding_kv> kv;

    explicit node(std::vector<std::string> servers, const std::string& bucket) {
        binding_kv_options o;
        o.connection.servers = std::move(servers);
        o.bucket = bucket;
        o.replicas = 3;
        kv = std::make_unique<binding_kv>(std::move(o), log);
    }

    // Opens the bucket; the JetStream meta leader may take a few seconds to be elected.
    void open() {
        std::string error;
        const bool opened = wait_until(
            [&] {
                error.clear();
                return kv->open(3s, error);
            },
            30s);
        INFO(error);
        REQUIRE(opened);
        kv->watch(
            [this](kv_change change) {
                const std::lock_guard lock(mutex);
                apply_to_index(
                    replica.apply(change), index,
                    [](const broker::binding_record&) { return false; },
                    [](const broker::binding_record& r) -> std::optional<push::push_binding> {
                        return push::push_binding{.binding_id = r.binding_id,
                                                  .app_guid = r.app_guid,
                                                  .plan_id = r.plan_id,
                                                  .limits = {},
                                                  .labels = {}};
                    });
            },
            [this] { synced.set_value(); });
        REQUIRE(synced.get_future().wait_for(10s) == std::future_status::ready);
    }

    kv_write_result run(const std::function<void(binding_kv::completion)>& op) {
        std::promise<kv_write_result> result;
        auto future = result.get_future();
        op([&result](kv_write_result r) { result.set_value(std::move(r)); });
        REQUIRE(future.wait_for(10s) == std::future_status::ready);
        return future.get();
    }
};

broker::binding_record binding(const std::string& id, const std::string& key) {
    return {.binding_id = id,
            .instance_id = "inst-1",
            .service_id = "svc-forwarder",
            .plan_id = "plan",
            .app_guid = "app-" + id,
            .context = {},
            .parameters = "{}",
            .endpoint = "",
            .key_hash = sha256_hex(key),
            .seq = 0,
            .origin = broker::record_origin::broker};
}

}  // namespace

TEST_CASE("JetStream KV shares bindings across nodes and survives a lost NATS server") {
    js_cluster servers;
    const std::string bucket = bindings_bucket("kvtest");
    node a({servers.url(0), servers.url(1), servers.url(2)}, bucket);
    node b({servers.url(1), servers.url(2), servers.url(0)}, bucket);
    a.open();
    b.open();

    // Bound through A: B accepts the key within a second.
    const auto b1 = binding("bind-1", "key-one");
    const auto created = a.run([&](auto done) {
        a.kv->create(binding_key(b1.binding_id), encode_binding(b1), std::move(done));
    });
    REQUIRE(created.outcome == kv_write_result::status::done);
    CHECK(wait_until([&] { return b.index.find_by_access_key("key-one").has_value(); }, 1s));

    // The same bind through B meets the record: identical is 200, different is 409.
    const auto again = b.run([&](auto done) {
        b.kv->create(binding_key(b1.binding_id), encode_binding(b1), std::move(done));
    });
    REQUIRE(again.outcome == kv_write_result::status::exists);
    CHECK(again.revision == created.revision);
    CHECK(decide_binding_create(again.stored, b1) == create_verdict::identical);
    auto other = b1;
    other.app_guid = "another-app";
    CHECK(decide_binding_create(again.stored, other) == create_verdict::conflict);

    // Key rotation through B (compare-and-set on the revision): A drops the old key.
    auto rotated = b1;
    rotated.key_hash = sha256_hex("key-one-rotated");
    const auto updated = b.run([&](auto done) {
        b.kv->update(binding_key(b1.binding_id), encode_binding(rotated), again.revision,
                     std::move(done));
    });
    REQUIRE(updated.outcome == kv_write_result::status::done);
    CHECK(
        wait_until([&] { return a.index.find_by_access_key("key-one-rotated").has_value(); }, 1s));
    CHECK_FALSE(a.index.find_by_access_key("key-one"));
    // A stale revision is refused, not applied.
    const auto stale = a.run([&](auto done) {
        a.kv->update(binding_key(b1.binding_id), encode_binding(b1), again.revision,
                     std::move(done));
    });
    CHECK(stale.outcome == kv_write_result::status::failed);

    // One NATS server lost (the first one of A's list): a new bind through B still works
    // (retried across the stream-leader change) and A learns it.
    servers.kill(0, SIGKILL);
    const auto b2 = binding("bind-2", "key-two");
    const auto start = std::chrono::steady_clock::now();
    kv_write_result second;
    // The broker retries for retry_for (1.5 s) and then answers 503; the test allows the client
    // (the Cloud Controller) a few such attempts, as it retries a failed bind itself.
    REQUIRE(wait_until(
        [&] {
            second = b.run([&](auto done) {
                b.kv->create(binding_key(b2.binding_id), encode_binding(b2), std::move(done));
            });
            return second.outcome == kv_write_result::status::done;
        },
        15s));
    INFO("bind during the loss took " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - start)
                                             .count()
                                      << " ms");
    CHECK(wait_until([&] { return a.index.find_by_access_key("key-two").has_value(); }, 10s));
    CHECK(a.index.find_by_access_key("key-one-rotated"));

    // Unbound through A: B refuses the key within a second.
    const auto removed =
        a.run([&](auto done) { a.kv->remove(binding_key(b2.binding_id), std::move(done)); });
    REQUIRE(removed.outcome == kv_write_result::status::done);
    CHECK(wait_until([&] { return !b.index.find_by_access_key("key-two").has_value(); }, 1s));
    CHECK(b.index.find_by_access_key("key-one-rotated"));

    a.kv->stop();
    b.kv->stop();
}
