// The in-memory index: keys found by their text (stored by hash), revoked and replaced at once;
// custom metrics paths decided by an app's latest promfetcher binding; concurrent readers.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/broker/binding_index.hpp>

#include "broker/access_key.hpp"

using namespace mgw::broker;

namespace {

mgw::push::push_binding forwarder_binding(std::string id, std::string app) {
    return {.binding_id = std::move(id),
            .app_guid = std::move(app),
            .plan_id = "plan",
            .limits = {.requests_per_minute = 60, .metrics_per_minute = std::nullopt},
            .labels = {{"space_name", "s"}}};
}

}  // namespace

TEST_CASE("access keys: 128 random bits as 8-4-4-4-12 hex, SHA-256 hashed") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto key = generate_access_key();
        REQUIRE(key);
        REQUIRE(key->size() == 36);
        for (std::size_t p : {8u, 13u, 18u, 23u}) {
            CHECK((*key)[p] == '-');
        }
        CHECK(seen.insert(*key).second);
    }
    // SHA-256("abc"), FIPS 180-2 test vector.
    CHECK(hash_access_key("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("keys are found by their text, revoked and replaced at once") {
    binding_index index;
    index.add_key(hash_access_key("k1"), forwarder_binding("b-1", "app-1"));
    index.add_key(hash_access_key("k2"), forwarder_binding("b-2", "app-2"));
    const auto found = index.find_by_access_key("k1");
    REQUIRE(found);
    CHECK(found->binding_id == "b-1");
    CHECK(found->app_guid == "app-1");
    CHECK(found->limits.requests_per_minute == 60u);
    CHECK(found->labels.at("space_name") == "s");
    CHECK_FALSE(index.find_by_access_key(hash_access_key("k1")));  // the hash is no key
    CHECK_FALSE(index.find_by_access_key(""));
    CHECK_FALSE(index.find_by_access_key(std::string(100'000, 'k')));
    CHECK(index.key_count() == 2);

    index.remove("b-1");
    CHECK_FALSE(index.find_by_access_key("k1"));
    CHECK(index.find_by_access_key("k2"));

    index.add_key(hash_access_key("k3"), forwarder_binding("b-2", "app-2"));  // rotation
    CHECK_FALSE(index.find_by_access_key("k2"));
    CHECK(index.find_by_access_key("k3")->binding_id == "b-2");
    CHECK(index.key_count() == 1);
    index.remove("no-such-binding");
    CHECK(index.key_count() == 1);
}

TEST_CASE("an app's latest promfetcher binding decides its metrics path") {
    binding_index index;
    CHECK_FALSE(index.custom_metric_path("app-1"));
    index.add_metrics_path("p-1", "app-1", 1, "/first");
    CHECK(index.custom_metric_path("app-1") == "/first");
    index.add_metrics_path("p-2", "app-1", 5, "/second");
    CHECK(index.custom_metric_path("app-1") == "/second");
    index.add_metrics_path("p-3", "app-1", 9, "");  // bound without endpoint: default path
    CHECK_FALSE(index.custom_metric_path("app-1"));
    index.remove("p-3");
    CHECK(index.custom_metric_path("app-1") == "/second");
    index.remove("p-2");
    CHECK(index.custom_metric_path("app-1") == "/first");
    CHECK_FALSE(index.custom_metric_path("app-2"));
    index.remove("p-1");
    CHECK_FALSE(index.custom_metric_path("app-1"));
    CHECK(index.metrics_path_bindings() == 0);
}

// Found by fuzz_binding_records: a record in the cluster's bucket can change a binding's kind or
// app, and the index used to keep what the binding was before (a key still working, a stale path).
TEST_CASE("a binding added again as another kind or app leaves nothing of what it was") {
    binding_index index;
    index.add_key(hash_access_key("k1"), forwarder_binding("b-1", "app-1"));
    index.add_metrics_path("b-1", "app-1", 3, "/custom");
    CHECK_FALSE(index.find_by_access_key("k1"));
    CHECK(index.key_count() == 0);
    CHECK(index.custom_metric_path("app-1") == "/custom");

    index.add_metrics_path("b-1", "app-2", 4, "/moved");
    CHECK_FALSE(index.custom_metric_path("app-1"));
    CHECK(index.custom_metric_path("app-2") == "/moved");
    CHECK(index.metrics_path_bindings() == 1);

    index.add_key(hash_access_key("k2"), forwarder_binding("b-1", "app-2"));
    CHECK_FALSE(index.custom_metric_path("app-2"));
    CHECK(index.metrics_path_bindings() == 0);
    CHECK(index.find_by_access_key("k2")->binding_id == "b-1");

    // A hash taken over by another binding is that binding's: the first one changing or going
    // must not revoke it.
    index.add_key(hash_access_key("k2"), forwarder_binding("b-2", "app-3"));
    index.add_key(hash_access_key("k3"), forwarder_binding("b-1", "app-2"));
    CHECK(index.find_by_access_key("k2")->binding_id == "b-2");
    index.remove("b-1");
    CHECK(index.find_by_access_key("k2")->binding_id == "b-2");
    CHECK(index.key_count() == 1);
}

TEST_CASE("lookups run concurrently with binds and unbinds") {
    binding_index index;
    index.add_key(hash_access_key("stable"), forwarder_binding("stable", "app"));
    std::atomic<bool> stop{false};
    std::atomic<int> misses{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&] {
            while (!stop.load()) {
                if (!index.find_by_access_key("stable")) {
                    misses.fetch_add(1);
                }
                (void)index.find_by_access_key("churn");
            }
        });
    }
    for (int i = 0; i < 2000; ++i) {
        index.add_key(hash_access_key("churn"), forwarder_binding("churn", "app"));
        index.remove("churn");
    }
    stop = true;
    for (auto& t : readers) {
        t.join();
    }
    CHECK(misses.load() == 0);
    CHECK_FALSE(index.find_by_access_key("churn"));
}
