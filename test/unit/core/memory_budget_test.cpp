// The memory budget: leases within the ceiling, refusals counted per use and never half-taken,
// bytes given back on destruction, and concurrent leases that never pass the ceiling.
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/core/memory_budget.hpp>

using mgw::core::memory_budget;
using mgw::core::memory_lease;
using mgw::core::memory_use;

TEST_CASE("leases are granted up to the ceiling and refused beyond it, counted per use") {
    memory_budget budget(1000);
    auto a = budget.try_lease(memory_use::http_answer, 600);
    REQUIRE(a);
    CHECK(budget.leased() == 600);
    CHECK_FALSE(budget.try_lease(memory_use::bosh_queues, 401));
    CHECK(budget.refusals(memory_use::bosh_queues) == 1);
    CHECK(budget.refusals(memory_use::http_answer) == 0);
    CHECK(budget.leased() == 600);
    auto b = budget.try_lease(memory_use::bosh_queues, 400);
    REQUIRE(b);
    CHECK(budget.leased() == 1000);
    CHECK(budget.leased(memory_use::bosh_queues) == 400);
    a.reset();
    CHECK(budget.leased() == 400);
    CHECK(budget.leased(memory_use::http_answer) == 0);
}

TEST_CASE("a lease grows while the ceiling allows, shrinks, and gives everything back") {
    memory_budget budget(100);
    memory_lease lease = budget.empty_lease(memory_use::rsocket_frames);
    CHECK(lease.grow(60));
    CHECK(lease.grow(40));
    CHECK_FALSE(lease.grow(1));
    CHECK(lease.bytes() == 100);
    CHECK(budget.refusals(memory_use::rsocket_frames) == 1);
    lease.shrink(30);
    CHECK(budget.leased() == 70);
    lease.shrink(1000);  // more than held: gives back what it holds
    CHECK(lease.bytes() == 0);
    CHECK(budget.leased() == 0);
    CHECK(lease.grow(100));
    {
        memory_lease moved = std::move(lease);
        CHECK(lease.bytes() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
        CHECK(budget.leased() == 100);
    }
    CHECK(budget.leased() == 0);
}

TEST_CASE("move assignment gives back what the target held") {
    memory_budget budget(100);
    auto a = budget.try_lease(memory_use::http_answer, 30);
    auto b = budget.try_lease(memory_use::scrape_bodies, 50);
    REQUIRE(a);
    REQUIRE(b);
    *a = std::move(*b);
    CHECK(budget.leased() == 50);
    CHECK(budget.leased(memory_use::http_answer) == 0);
    CHECK(budget.leased(memory_use::scrape_bodies) == 50);
}

TEST_CASE("a use limited to its share leaves the rest of the budget to the others") {
    memory_budget budget(1000);
    budget.limit_use(memory_use::scrape_bodies, 500);
    CHECK(budget.use_limit(memory_use::scrape_bodies) == 500);
    CHECK(mgw::core::merge_share(1000) == 750);
    CHECK(mgw::core::merge_share(0) == 0);
    CHECK(budget.use_limit(memory_use::request_bodies) == 1000);
    auto merges = budget.empty_lease(memory_use::scrape_bodies);
    CHECK(merges.grow(500));
    // Clients that never read hold their merges: the use meets its own refusal...
    CHECK_FALSE(merges.grow(1));
    CHECK_FALSE(budget.try_lease(memory_use::scrape_bodies, 1));
    CHECK(budget.refusals(memory_use::scrape_bodies) == 2);
    CHECK(budget.leased(memory_use::scrape_bodies) == 500);
    // ... while a small request still finds room, up to the whole budget.
    auto request = budget.try_lease(memory_use::request_bodies, 500);
    REQUIRE(request);
    CHECK(budget.leased() == 1000);
    // A use refused by the whole budget keeps nothing of its share.
    merges.shrink(100);
    CHECK_FALSE(budget.try_lease(memory_use::scrape_bodies, 200));
    CHECK(budget.leased(memory_use::scrape_bodies) == 400);
    CHECK(budget.leased() == 900);
}

TEST_CASE("concurrent leases never pass a use's share") {
    memory_budget budget(10'000);
    budget.limit_use(memory_use::http_answer, 5'000);
    std::vector<std::jthread> threads;
    std::atomic<std::size_t> peak{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20'000; ++i) {
                if (auto lease = budget.try_lease(memory_use::http_answer, 2'000)) {
                    const std::size_t now = budget.leased(memory_use::http_answer);
                    std::size_t seen = peak.load();
                    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                    }
                }
            }
        });
    }
    threads.clear();
    CHECK(peak.load() <= 5'000);
    CHECK(budget.leased() == 0);
}

TEST_CASE("a budget of 0 has no ceiling but still accounts") {
    memory_budget budget(0);
    auto lease = budget.try_lease(memory_use::rsocket_pushes, std::size_t{1} << 40);
    REQUIRE(lease);
    CHECK(budget.leased(memory_use::rsocket_pushes) == (std::size_t{1} << 40));
}

TEST_CASE("a detached lease grows without limit") {
    memory_lease lease;
    CHECK(lease.grow(std::size_t{1} << 40));
    lease.reset();
    CHECK(lease.bytes() == 0);
}

TEST_CASE("concurrent leases never pass the ceiling") {
    memory_budget budget(10'000);
    std::vector<std::jthread> threads;
    std::atomic<std::size_t> peak{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20'000; ++i) {
                if (auto lease = budget.try_lease(memory_use::http_answer, 3'000)) {
                    const std::size_t now = budget.leased();
                    std::size_t seen = peak.load();
                    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                    }
                }
            }
        });
    }
    threads.clear();
    CHECK(peak.load() <= 10'000);
    CHECK(budget.leased() == 0);
}

TEST_CASE("the budget's metrics name every use from a fixed set") {
    prometheus::Registry registry;
    memory_budget budget(1000, registry);
    auto lease = budget.try_lease(memory_use::bosh_queues, 700);
    CHECK_FALSE(budget.try_lease(memory_use::bosh_queues, 700));
    std::size_t series = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name == "mgw_memory_leased_bytes" ||
            family.name == "mgw_memory_refusals_total") {
            series += family.metric.size();
            for (const auto& metric : family.metric) {
                REQUIRE(metric.label.size() == 1);
                if (metric.label[0].value == "bosh_queues") {
                    CHECK((family.name == "mgw_memory_leased_bytes" ? metric.gauge.value
                                                                    : metric.counter.value) ==
                          (family.name == "mgw_memory_leased_bytes" ? 700.0 : 1.0));
                }
            }
        }
        if (family.name == "mgw_memory_budget_bytes") {
            CHECK(family.metric.at(0).gauge.value == 1000.0);
        }
    }
    CHECK(series == 2 * mgw::core::memory_use_count);
}

TEST_CASE("leasable bytes: the ceiling less the baseline, a quarter kept back") {
    CHECK(mgw::core::leasable_bytes(0, 50u << 20) == 0);
    CHECK(mgw::core::leasable_bytes(1024u << 20, 24u << 20) == (750u << 20));
    CHECK(mgw::core::leasable_bytes(64u << 20, 100u << 20) == (1u << 20));
    CHECK(mgw::core::leasable_bytes(64u << 20, 63u << 20) == (1u << 20));
    CHECK(mgw::core::resident_bytes().value_or(0) > 0);
}
