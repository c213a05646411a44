// Unit tests: the cluster's membership table with an injected clock (joins, refreshes,
// departures after 3.5 missed heartbeats, restarts, our own heartbeats).
#include "cluster/membership.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using mgw::cluster::heartbeat;
using mgw::cluster::membership_event;
using mgw::cluster::membership_table;

namespace {

const membership_table::clock::time_point t0{std::chrono::hours(1)};

heartbeat hb(std::string node, std::string boot, std::chrono::milliseconds interval = 1000ms) {
    return {.node = std::move(node), .boot = std::move(boot), .interval = interval, .version = ""};
}

}  // namespace

TEST_CASE("a peer joins on its first heartbeat and a refresh changes nothing") {
    membership_table table("n1", "boot-1");
    const auto joined = table.observe(hb("n2", "b2"), t0);
    REQUIRE(joined);
    CHECK(joined->event == membership_event::joined);
    CHECK(joined->node == "n2");
    CHECK(joined->boot == "b2");
    CHECK_FALSE(table.observe(hb("n2", "b2"), t0 + 1s));
    CHECK(table.observe(hb("n3", "b3"), t0 + 1s)->event == membership_event::joined);
    CHECK(table.live_peers() == std::vector<std::string>{"n2", "n3"});
    const auto peers = table.peers();
    REQUIRE(peers.size() == 2);
    CHECK(peers[0].node == "n2");
    CHECK(peers[0].boot == "b2");
    CHECK(peers[0].last_seen == t0 + 1s);
    CHECK(peers[1].last_seen == t0 + 1s);
    CHECK(table.peer_count() == 2);
    CHECK(table.is_live("n3"));
    CHECK_FALSE(table.is_live("n4"));
}

TEST_CASE("a peer leaves after 3.5 of its heartbeat intervals without one") {
    membership_table table("n1", "boot-1");
    table.observe(hb("n2", "b2"), t0);
    table.observe(hb("n3", "b3", 200ms), t0);
    // n3 (200 ms heartbeat) is gone after 700 ms, n2 (1 s) after 3.5 s.
    CHECK(table.expire(t0 + 700ms).empty());
    const auto gone = table.expire(t0 + 701ms);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].event == membership_event::left);
    CHECK(gone[0].node == "n3");
    CHECK(table.live_peers() == std::vector<std::string>{"n2"});
    // A heartbeat in time keeps n2.
    table.observe(hb("n2", "b2"), t0 + 3s);
    CHECK(table.expire(t0 + 6500ms).empty());
    CHECK(table.expire(t0 + 6501ms).size() == 1);
    CHECK(table.peer_count() == 0);
    // A peer that comes back joins again.
    CHECK(table.observe(hb("n2", "b2"), t0 + 7s)->event == membership_event::joined);
}

TEST_CASE("a new boot id is a restart and a reordered heartbeat does not move time back") {
    membership_table table("n1", "boot-1");
    table.observe(hb("n2", "b2"), t0);
    const auto restarted = table.observe(hb("n2", "b2-new"), t0 + 2s);
    REQUIRE(restarted);
    CHECK(restarted->event == membership_event::restarted);
    CHECK(restarted->boot == "b2-new");
    CHECK(table.peer_count() == 1);
    table.observe(hb("n2", "b2-new"), t0 + 1s);  // late delivery of an older message
    CHECK(table.expire(t0 + 5500ms).empty());
    CHECK(table.expire(t0 + 5501ms).size() == 1);
}

TEST_CASE("our own heartbeats are no peer, and another boot with our id is a conflict") {
    membership_table table("n1", "boot-1");
    CHECK_FALSE(table.observe(hb("n1", "boot-1"), t0));
    CHECK(table.peer_count() == 0);
    CHECK(table.self_conflicts() == 0);
    CHECK_FALSE(table.observe(hb("n1", "someone-else"), t0));
    CHECK(table.peer_count() == 0);
    CHECK(table.self_conflicts() == 1);
}

TEST_CASE("a gather's peers are the live ones that answer its kind, as their last heartbeat says") {
    using mgw::cluster::bit;
    using mgw::cluster::request_kind;
    membership_table table("n1", "boot-1");
    table.observe(hb("n2", "b2"), t0);
    heartbeat older = hb("n3", "b3");
    older.answers = bit(request_kind::app) | bit(request_kind::connected);
    table.observe(older, t0);
    CHECK(table.live_peers_answering(request_kind::app) == std::vector<std::string>{"n2", "n3"});
    CHECK(table.live_peers_answering(request_kind::proxy) == std::vector<std::string>{"n2"});
    CHECK(table.live_peers_answering(request_kind::apps) == std::vector<std::string>{"n2"});
    // n3 upgraded in place (same boot for the test's sake): its next heartbeat counts.
    table.observe(hb("n3", "b3"), t0 + 1s);
    CHECK(table.live_peers_answering(request_kind::proxy) == std::vector<std::string>{"n2", "n3"});
    // A peer that left is no longer asked.
    table.expire(t0 + 4s);
    table.observe(hb("n3", "b3"), t0 + 4s);
    CHECK(table.live_peers_answering(request_kind::apps) == std::vector<std::string>{"n3"});
}
