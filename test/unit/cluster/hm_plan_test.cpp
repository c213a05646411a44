// Unit tests: the cluster's HM event distribution without NATS: subject and queue names, and
// when a node joins or leaves the queue group of a subscription id.
#include "cluster/hm_plan.hpp"

#include <catch2/catch.hpp>

using mgw::cluster::hm_action;
using mgw::cluster::hm_subscription_plan;
using ids = std::set<std::string, std::less<>>;

TEST_CASE("the event subject carries the cluster name") {
    CHECK(mgw::cluster::hm_event_subject("prod") == "mgw.prod.hm.ev");
}

TEST_CASE("queue names are hm. and 16 hex digits of a stable hash of the id") {
    // FNV-1a 64 reference values: the empty string is the offset basis.
    CHECK(mgw::cluster::hash16("") == "cbf29ce484222325");
    CHECK(mgw::cluster::hash16("a") == "af63dc4c8601ec8c");
    const std::string q = mgw::cluster::hm_queue("bosh-system-metrics-forwarder");
    REQUIRE(q.size() == 3 + 16);
    CHECK(q.starts_with("hm."));
    CHECK(q.find_first_not_of("0123456789abcdef", 3) == std::string::npos);
    // Same id on every node: same group. Different ids: different groups.
    CHECK(q == mgw::cluster::hm_queue("bosh-system-metrics-forwarder"));
    CHECK(mgw::cluster::hm_queue("A") != mgw::cluster::hm_queue("B"));
    // Ids with characters a queue name cannot hold still name a valid queue.
    CHECK(mgw::cluster::hm_queue("a b*>.c").find_first_of(" *>") == std::string::npos);
}

TEST_CASE("an id is subscribed with its first local client and left with its last") {
    hm_subscription_plan plan;
    CHECK(plan.step({}).empty());
    auto actions = plan.step(ids{"A"});
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].what == hm_action::kind::subscribe);
    CHECK(actions[0].id == "A");
    CHECK(plan.holds("A"));
    // More clients of the same id change nothing.
    CHECK(plan.step(ids{"A"}).empty());
    actions = plan.step(ids{"A", "B"});
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].id == "B");
    CHECK(plan.held() == 2);
    actions = plan.step(ids{"B"});
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].what == hm_action::kind::unsubscribe);
    CHECK(actions[0].id == "A");
    CHECK_FALSE(plan.holds("A"));
    actions = plan.step({});
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].what == hm_action::kind::unsubscribe);
    CHECK(plan.held() == 0);
}

TEST_CASE("a failed subscribe is tried again on the next step") {
    hm_subscription_plan plan;
    REQUIRE(plan.step(ids{"A"}).size() == 1);
    plan.failed("A");
    CHECK_FALSE(plan.holds("A"));
    const auto actions = plan.step(ids{"A"});
    REQUIRE(actions.size() == 1);
    CHECK(actions[0].what == hm_action::kind::subscribe);
    // Failing an id that is not held is harmless.
    plan.failed("Z");
    CHECK(plan.held() == 1);
}
