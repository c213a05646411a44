// Unit tests: the cluster section's own checks (the gateway's config tests cover it through
// load_config with full key paths).
#include <catch2/catch.hpp>

#include <mgw/cluster/config.hpp>

using mgw::cluster::valid_cluster_name;
using mgw::cluster::valid_node_id;

TEST_CASE("cluster names and node ids are NATS subject tokens") {
    CHECK(valid_cluster_name("mgw"));
    CHECK(valid_cluster_name("prod_eu-1"));
    CHECK_FALSE(valid_cluster_name(""));
    CHECK_FALSE(valid_cluster_name("a.b"));
    CHECK_FALSE(valid_cluster_name("a*"));
    CHECK_FALSE(valid_cluster_name(std::string(65, 'a')));
    CHECK(valid_node_id("gw-1.example.com"));
    CHECK(valid_node_id("n1"));
    CHECK_FALSE(valid_node_id(""));
    CHECK_FALSE(valid_node_id(".n1"));
    CHECK_FALSE(valid_node_id("n1."));
    CHECK_FALSE(valid_node_id("a..b"));
    CHECK_FALSE(valid_node_id("a>b"));
    CHECK_FALSE(valid_node_id("a b"));
    CHECK_FALSE(valid_node_id(std::string(129, 'a')));
}

TEST_CASE("an empty node id is the host name") {
    mgw::cluster::cluster_config config;
    config.node_id = "explicit";
    CHECK(config.resolved_node_id() == "explicit");
    config.node_id.clear();
    const std::string host = config.resolved_node_id();
    CHECK_FALSE(host.empty());
    CHECK(valid_node_id(host));
}
