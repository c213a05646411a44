// Unit tests: the proxy's registry of clients without a socket. Admission up to
// max_connections, the ready clients and the app each joined (the index the app source and
// service discovery read), what a trusted client's labels teach, the held pushes of closed
// clients (served once, bounded in count, bytes and age) and the stop.
#include "client_registry.hpp"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "idle_clients.hpp"
#include "proxy_metrics.hpp"

using namespace mgw::rsocket;
using namespace std::chrono_literals;
using mgw::rsocket::testing::idle_clients;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* shop = "2f1e0d9c-8b7a-4654-a321-0fedcba98765";
constexpr const char* shop_upper = "2F1E0D9C-8B7A-4654-A321-0FEDCBA98765";
constexpr const char* cart = "6f0bc0ae-6f6c-4d4c-9b2a-0f5b0c6c1a11";

client_app keyed(std::string guid) {
    return {.guid = std::move(guid),
            .how = client_app::grounds::key,
            .access_key = "k-1",
            .binding_labels = {{"organization_name", "demo-org"}}};
}

client_app declared(std::string guid) {
    return {.guid = std::move(guid),
            .how = client_app::grounds::declared_setup,
            .access_key = {},
            .binding_labels = {}};
}

leased_text text(std::string s) {
    return {.text = std::move(s), .lease = {}};
}

double pushes(proxy_counters& counters, const std::string& outcome) {
    return counters.pushes.Add({{"outcome", outcome}}).Value();
}

std::vector<std::uint64_t> ids(const std::vector<std::shared_ptr<connection>>& clients) {
    std::vector<std::uint64_t> out;
    for (const auto& c : clients) {
        out.push_back(c->id());
    }
    return out;
}

// A client admitted, added and ready, as the acceptor and the observer make it.
std::shared_ptr<connection> join(client_registry& registry, idle_clients& clients,
                                 std::optional<client_app> app, bool learn = false) {
    REQUIRE(registry.admit());
    auto c = clients.make(registry.next_id());
    REQUIRE(registry.add(c));
    registry.ready(c, std::move(app), learn);
    return c;
}

}  // namespace

TEST_CASE("client registry: admission stops at max_connections, a close frees a place") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    client_registry registry({.max_connections = 2}, counters);

    CHECK(registry.admit());
    CHECK(registry.admit());
    CHECK(counters.connections.Value() == 2);
    CHECK_FALSE(registry.admit());
    CHECK(counters.rejected.Value() == 1);

    // One never became a client (a failed WebSocket upgrade), one closed: both places free.
    registry.abandon();
    const std::uint64_t id = registry.next_id();
    registry.closed(id, std::nullopt, clock_type::now());
    CHECK(counters.connections.Value() == 0);
    CHECK(registry.admit());
    CHECK(registry.next_id() == id + 1);
    CHECK(registry.status().open_connections == 1);
    CHECK(registry.status().ready_clients == 0);  // admitted is not ready
}

TEST_CASE("client registry: ready clients, the app each joined, and leaving it") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    client_registry registry({}, counters);

    const auto a = join(registry, clients, keyed(shop_upper));
    const auto b = join(registry, clients, declared(shop));
    const auto anonymous = join(registry, clients, std::nullopt);
    const auto c = join(registry, clients, keyed(cart));
    // Admitted and added, not ready yet: in no list.
    REQUIRE(registry.admit());
    REQUIRE(registry.add(clients.make(registry.next_id())));

    CHECK(ids(registry.ready_clients()) ==
          std::vector<std::uint64_t>{a->id(), b->id(), anonymous->id(), c->id()});
    CHECK(registry.ready_count() == 4);

    // GUIDs compare without case; each joined client comes with its grounds, oldest first.
    const auto of_shop = registry.clients_of_app(shop);
    REQUIRE(of_shop.size() == 2);
    CHECK(of_shop[0].client == a);
    CHECK(of_shop[0].app.how == client_app::grounds::key);
    CHECK(of_shop[0].app.access_key == "k-1");
    CHECK(of_shop[0].app.binding_labels.at("organization_name") == "demo-org");
    CHECK(of_shop[1].client == b);
    CHECK(of_shop[1].app.how == client_app::grounds::declared_setup);
    CHECK(registry.clients_of_app(shop_upper).size() == 2);
    CHECK(registry.clients_of_app("00000000-0000-4000-8000-000000000000").empty());

    // Each app once, spelled as its first client spelled it.
    CHECK(registry.joined_apps() == std::vector<std::string>{shop_upper, cart});

    proxy_status status = registry.status();
    CHECK(status.open_connections == 5);
    CHECK(status.ready_clients == 4);
    REQUIRE(status.apps.size() == 2);
    CHECK(status.apps[0].app_guid == shop_upper);  // sorted by GUID
    CHECK(status.apps[0].clients == 2);
    CHECK(status.apps[1].app_guid == cart);
    CHECK(status.apps[1].clients == 1);

    // A revoked key: the client stays connected (and on /metrics/connected) but leaves its app.
    registry.leave_app(a->id());
    const auto left = registry.clients_of_app(shop);
    REQUIRE(left.size() == 1);
    CHECK(left[0].client == b);
    CHECK(registry.ready_count() == 4);
    CHECK(registry.joined_apps() == std::vector<std::string>{shop, cart});

    // A closed client leaves everything.
    registry.closed(c->id(), std::nullopt, clock_type::now());
    CHECK(registry.clients_of_app(cart).empty());
    CHECK(registry.joined_apps() == std::vector<std::string>{shop});
    CHECK(ids(registry.ready_clients()) ==
          std::vector<std::uint64_t>{a->id(), b->id(), anonymous->id()});
    CHECK(registry.status().open_connections == 4);
}

TEST_CASE("client registry: a learning client joins the app its labels name, once") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    client_registry registry({}, counters);

    const auto named = join(registry, clients, std::nullopt, true);
    const auto unnamed = join(registry, clients, std::nullopt, true);
    const auto not_learning = join(registry, clients, std::nullopt, false);
    const auto gone = join(registry, clients, std::nullopt, true);
    // A client that joined at SETUP learns nothing more.
    const auto joined = join(registry, clients, declared(cart), true);

    CHECK(registry.learning(named->id()));
    CHECK_FALSE(registry.learning(not_learning->id()));
    CHECK_FALSE(registry.learning(joined->id()));

    CHECK(registry.learn(named->id(), shop) == std::optional<bool>(true));
    CHECK_FALSE(registry.learning(named->id()));
    const auto of_shop = registry.clients_of_app(shop);
    REQUIRE(of_shop.size() == 1);
    CHECK(of_shop[0].client == named);
    CHECK(of_shop[0].app.how == client_app::grounds::declared_labels);
    // The first pull teaches; a later one does not change the app.
    CHECK(registry.learn(named->id(), cart) == std::nullopt);
    CHECK(registry.clients_of_app(shop).size() == 1);

    CHECK(registry.learn(unnamed->id(), "") == std::optional<bool>(false));
    CHECK(registry.learn(not_learning->id(), shop) == std::nullopt);
    registry.closed(gone->id(), std::nullopt, clock_type::now());
    CHECK(registry.learn(gone->id(), shop) == std::nullopt);

    CHECK(registry.clients_of_app(shop).size() == 1);
    CHECK(registry.joined_apps() == std::vector<std::string>{shop, cart});
}

TEST_CASE("client registry: held pushes are served once, bounded in count, bytes and age") {
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    client_registry registry(
        {.max_connections = 100, .max_held_pushes = 3, .max_held_push_bytes = 10, .push_ttl = 1min},
        counters);
    const auto t0 = clock_type::now();
    auto close_with = [&](std::string push, clock_type::time_point at) {
        REQUIRE(registry.admit());
        registry.closed(registry.next_id(), text(std::move(push)), at);
    };

    close_with("aaaa", t0);
    close_with("bbbb", t0);
    CHECK(registry.status().held_pushes == 2);
    CHECK(registry.status().held_push_bytes == 8);
    // Past max_held_push_bytes: the oldest go until the newest fits.
    close_with("cccc", t0);
    CHECK(pushes(counters, "dropped") == 1);
    // Larger than max_held_push_bytes alone: never held, the others stay.
    close_with("01234567890", t0);
    CHECK(pushes(counters, "dropped") == 2);
    close_with("dddddd", t0);
    CHECK(pushes(counters, "dropped") == 3);
    CHECK(registry.status().held_pushes == 2);
    CHECK(registry.status().held_push_bytes == 10);

    std::vector<leased_text> served = registry.take_held_pushes(t0 + 1s);
    REQUIRE(served.size() == 2);
    CHECK(served[0].text == "cccc");
    CHECK(served[1].text == "dddddd");
    CHECK(pushes(counters, "served") == 2);
    CHECK(registry.take_held_pushes(t0 + 2s).empty());
    CHECK(registry.status().held_pushes == 0);
    CHECK(registry.status().held_push_bytes == 0);

    // Past max_held_pushes: the oldest goes.
    for (const char* push : {"1", "2", "3", "4"}) {
        close_with(push, t0 + 2s);
    }
    CHECK(pushes(counters, "dropped") == 4);
    served = registry.take_held_pushes(t0 + 3s);
    REQUIRE(served.size() == 3);
    CHECK(served[0].text == "2");
    CHECK(served[2].text == "4");
    CHECK(pushes(counters, "served") == 5);

    // Not taken within push_ttl: expired, never served.
    close_with("eeee", t0 + 3s);
    CHECK(registry.take_held_pushes(t0 + 3s + 1min).empty());
    CHECK(pushes(counters, "expired") == 1);
    CHECK(pushes(counters, "served") == 5);
    CHECK(registry.status().open_connections == 0);
}

TEST_CASE("client registry: once stopped, nothing enters and the open clients are handed back") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    client_registry registry({}, counters);

    const auto ready = join(registry, clients, keyed(shop));
    REQUIRE(registry.admit());
    const auto pending = clients.make(registry.next_id());
    REQUIRE(registry.add(pending));

    const auto open = registry.stop();
    CHECK(ids(open) == std::vector<std::uint64_t>{ready->id(), pending->id()});
    CHECK_FALSE(registry.admit());
    CHECK(counters.rejected.Value() == 1);
    const auto late = clients.make(registry.next_id());
    CHECK_FALSE(registry.add(late));
    registry.ready(pending, declared(cart), false);
    CHECK(registry.clients_of_app(cart).empty());
    CHECK(registry.ready_count() == 1);
}
