// Unit tests: Prometheus service discovery's target list from a route snapshot and the other
// modules' directories (which apps, their labels, filters, merging by GUID) and its JSON.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <mgw/apps/app_request.hpp>
#include <mgw/apps/service_discovery.hpp>
#include <mgw/routes/identifier.hpp>
#include <mgw/routes/route_table.hpp>

using namespace mgw;
using namespace mgw::apps;

namespace {

const routes::route_clock::time_point t0{std::chrono::hours(1000)};

constexpr const char* guid_a = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
constexpr const char* guid_b = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
constexpr const char* guid_c = "c758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";

routes::registry_message instance(std::string app_id, std::string org, std::string space,
                                  std::string app, std::string host, std::string index,
                                  std::string process_type = "web") {
    routes::registry_message m;
    m.host = std::move(host);
    m.port = 8080;
    m.uris = {app + ".apps.example.com"};
    m.app = app_id;
    m.private_instance_id = "inst-" + index;
    m.private_instance_index = index;
    m.tags = {{"app_id", app_id},
              {"app_name", app},
              {"space_name", space},
              {"space_id", "space-" + space},
              {"organization_name", org},
              {"organization_id", "org-" + org},
              {"process_type", process_type},
              {"instance_id", index}};
    return m;
}

std::shared_ptr<const routes::route_snapshot> table_of(
    const std::vector<routes::registry_message>& messages) {
    routes::route_table table;  // the snapshot outlives it
    for (const auto& m : messages) {
        table.register_endpoint(m, t0);
    }
    return table.publish();
}

const sd_target_group* group_of(const std::vector<sd_target_group>& groups, std::string_view guid) {
    for (const auto& g : groups) {
        if (g.app_guid == guid) {
            return &g;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("every web app of the route table is one target with its CF labels") {
    const auto snapshot = table_of({
        instance(guid_a, "org1", "dev", "shop", "10.0.0.1", "0"),
        instance(guid_a, "org1", "dev", "shop", "10.0.0.2", "1"),
        instance(guid_b, "org2", "prod", "cart", "10.0.0.3", "0"),
    });
    const auto groups = discover_targets(*snapshot, {}, {});
    REQUIRE(groups.size() == 2);
    const sd_target_group* a = group_of(groups, guid_a);
    REQUIRE(a != nullptr);
    CHECK(a->labels.at("__meta_cf_org_name") == "org1");
    CHECK(a->labels.at("__meta_cf_org_id") == "org-org1");
    CHECK(a->labels.at("__meta_cf_space_name") == "dev");
    CHECK(a->labels.at("__meta_cf_space_id") == "space-dev");
    CHECK(a->labels.at("__meta_cf_app_name") == "shop");
    CHECK(a->labels.at("__meta_cf_app_id") == guid_a);
    CHECK(a->labels.at("__meta_cf_sources") == ",routes,");
    CHECK(a->labels.at("__meta_cf_instances") == "2");
}

TEST_CASE("instances that are not web, or carry no UUID app_id, are no targets") {
    const auto snapshot = table_of({
        instance(guid_a, "org1", "dev", "worker", "10.0.0.1", "0", "worker"),
        instance("not-a-uuid", "org1", "dev", "odd", "10.0.0.2", "0"),
        instance("", "org1", "dev", "none", "10.0.0.3", "0"),
    });
    CHECK(discover_targets(*snapshot, {}, {}).empty());
}

TEST_CASE("a GUID is one target whatever its spelling, and an instance on two routes counts once") {
    auto upper =
        instance("A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15", "org1", "dev", "shop", "10.0.0.1", "0");
    upper.uris.push_back("shop.internal");
    const auto snapshot = table_of({upper});
    const directory_listing pushed{
        .name = "push",
        .apps = {{.app_guid = "urn:uuid:a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15", .labels = {}},
                 {.app_guid = "a758f25d2a3b4c5d8e9fde3aabcd9e15", .labels = {}},
                 {.app_guid = "not-a-uuid", .labels = {}}}};
    const auto groups = discover_targets(*snapshot, std::span(&pushed, 1), {});
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].app_guid == guid_a);
    CHECK(groups[0].labels.at("__meta_cf_instances") == "1");
    CHECK(groups[0].labels.at("__meta_cf_sources") == ",routes,push,");
}

TEST_CASE("directories add apps the route table does not know, route tags win, gaps are filled") {
    const auto snapshot = table_of({instance(guid_a, "org1", "dev", "shop", "10.0.0.1", "0")});
    std::vector<directory_listing> directories{
        {.name = "push",
         .apps = {{.app_guid = guid_a,
                   .labels = {{"organization_name", "stale-org"}, {"app_name", "stale"}}},
                  {.app_guid = guid_b,
                   .labels = {{"organization_name", "org2"},
                              {"organization_id", "o2"},
                              {"space_name", "prod"},
                              {"space_id", "s2"}}}}},
        {.name = "rsocket",
         .apps = {{.app_guid = guid_b, .labels = {}}, {.app_guid = guid_c, .labels = {}}}},
    };
    const auto groups = discover_targets(*snapshot, directories, {});
    REQUIRE(groups.size() == 3);
    CHECK(groups[0].app_guid == guid_a);  // ordered by GUID
    CHECK(groups[1].app_guid == guid_b);
    CHECK(groups[2].app_guid == guid_c);
    CHECK(groups[0].labels.at("__meta_cf_org_name") == "org1");
    CHECK(groups[0].labels.at("__meta_cf_app_name") == "shop");
    CHECK(groups[1].labels.at("__meta_cf_org_name") == "org2");
    CHECK(groups[1].labels.at("__meta_cf_space_id") == "s2");
    CHECK_FALSE(groups[1].labels.contains("__meta_cf_app_name"));
    CHECK(groups[1].labels.at("__meta_cf_sources") == ",push,rsocket,");
    CHECK(groups[1].labels.at("__meta_cf_instances") == "0");
    CHECK(groups[2].labels.at("__meta_cf_sources") == ",rsocket,");
    CHECK_FALSE(groups[2].labels.contains("__meta_cf_org_name"));
}

TEST_CASE("peers' apps join the same-named directory, in this node's order, once per GUID") {
    const auto snapshot = table_of({instance(guid_a, "org1", "dev", "shop", "10.0.0.1", "0")});
    // This node: push (nothing pushed here), rsocket knows guid_b.
    std::vector<directory_listing> local{
        {.name = "push", .apps = {}},
        {.name = "rsocket", .apps = {{.app_guid = guid_b, .labels = {}}}},
    };
    // Peers: one lists its rsocket before its push; another has a source this node has not.
    const std::vector<remote_listing> remote{
        {.name = "rsocket", .apps = {{.app_guid = guid_c, .labels = {}}}},
        {.name = "push",
         .apps = {{.app_guid = guid_b, .labels = {{"app_name", "billing"}}},
                  {.app_guid = guid_a, .labels = {{"app_name", "stale"}}}}},
        {.name = "later", .apps = {{.app_guid = guid_c, .labels = {}}}},
    };
    merge_remote_listings(local, remote);
    REQUIRE(local.size() == 3);
    CHECK(local[0].name == "push");
    CHECK(local[0].apps.size() == 2);
    CHECK(local[1].name == "rsocket");
    CHECK(local[1].apps.size() == 2);
    CHECK(local[2].name == "later");

    const auto groups = discover_targets(*snapshot, local, {});
    REQUIRE(groups.size() == 3);
    // The route table's tags still win over a peer's.
    CHECK(groups[0].labels.at("__meta_cf_app_name") == "shop");
    CHECK(groups[0].labels.at("__meta_cf_sources") == ",routes,push,");
    // Known here by RSocket and on a peer by push: listed once, sources in this node's order.
    CHECK(groups[1].labels.at("__meta_cf_sources") == ",push,rsocket,");
    CHECK(groups[1].labels.at("__meta_cf_app_name") == "billing");
    // Known only to peers.
    CHECK(groups[2].app_guid == guid_c);
    CHECK(groups[2].labels.at("__meta_cf_sources") == ",rsocket,later,");

    // Without peers' listings nothing changes.
    std::vector<directory_listing> alone{{.name = "push", .apps = {}}};
    merge_remote_listings(alone, {});
    REQUIRE(alone.size() == 1);
    CHECK(discover_targets(*snapshot, alone, {}).size() == 1);
}

TEST_CASE("filters select by exact org, space and app names, an unknown name matches nothing") {
    const auto snapshot = table_of({
        instance(guid_a, "org1", "dev", "shop", "10.0.0.1", "0"),
        instance(guid_b, "org1", "prod", "shop", "10.0.0.2", "0"),
        instance(guid_c, "org2", "dev", "cart", "10.0.0.3", "0"),
    });
    const directory_listing anonymous{
        .name = "rsocket",
        .apps = {{.app_guid = "d758f25d-2a3b-4c5d-8e9f-de3aabcd9e15", .labels = {}}}};
    const auto guids = [&](std::string org, std::string space, std::string app) {
        const sd_filter filter{
            .org = std::move(org), .space = std::move(space), .app = std::move(app)};
        std::vector<std::string> out;
        for (const auto& g : discover_targets(*snapshot, std::span(&anonymous, 1), filter)) {
            out.push_back(g.app_guid);
        }
        return out;
    };
    CHECK(guids("", "", "").size() == 4);
    CHECK(guids("org1", "", "") == std::vector<std::string>{guid_a, guid_b});
    CHECK(guids("org1", "prod", "") == std::vector<std::string>{guid_b});
    CHECK(guids("", "", "shop") == std::vector<std::string>{guid_a, guid_b});
    CHECK(guids("", "dev", "cart") == std::vector<std::string>{guid_c});
    CHECK(guids("ORG1", "", "").empty());
    CHECK(guids("", "", "nothing").empty());
}

TEST_CASE("the JSON is Prometheus' http_sd format with the merged endpoint as metrics path") {
    const auto snapshot = table_of({instance(guid_a, "o\"rg", "dev", "shop", "10.0.0.1", "0")});
    const auto groups = discover_targets(*snapshot, {}, {});
    const auto json = boost::json::parse(
        sd_json(groups, {.target = "gateway.example.com:8085", .scheme = "https"}));
    const auto& list = json.as_array();
    REQUIRE(list.size() == 1);
    const auto& group = list[0].as_object();
    CHECK(group.at("targets") == boost::json::array{"gateway.example.com:8085"});
    const auto& labels = group.at("labels").as_object();
    CHECK(labels.at("__metrics_path__") == "/v2/apps/a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15/metrics");
    CHECK(labels.at("__scheme__") == "https");
    CHECK(labels.at("__meta_cf_org_name") == "o\"rg");
    for (const auto& [name, value] : labels) {
        CHECK(value.is_string());  // Prometheus accepts only string label values
    }
    CHECK(sd_json({}, {.target = "x:1", .scheme = "http"}) == "[]");
}

TEST_CASE("the target is the Host header when it is a host and port, else nothing") {
    CHECK(sd_target_from_host("gateway.example.com:8085") == "gateway.example.com:8085");
    CHECK(sd_target_from_host("[::1]:8085") == "[::1]:8085");
    CHECK(sd_target_from_host("10.0.0.1") == "10.0.0.1");
    CHECK(sd_target_from_host("").empty());
    CHECK(sd_target_from_host("evil.com/path").empty());
    CHECK(sd_target_from_host("a b").empty());
    CHECK(sd_target_from_host("user@host").empty());
    CHECK(sd_target_from_host(std::string(256, 'a')).empty());
    CHECK(sd_target_from_host(std::string(255, 'a')).size() == 255);
}

TEST_CASE("merged endpoint path: by names when they can name the app, else by GUID") {
    CHECK(merged_endpoint_path("acme", "dev", "web", guid_a) == "/v2/apps/acme/dev/web/metrics");
    CHECK(merged_endpoint_path("acme", "my space", "a&b", guid_a) ==
          "/v2/apps/acme/my%20space/a%26b/metrics");
    CHECK(merged_endpoint_path("acme", "dev", "caf\xc3\xa9", "") ==
          "/v2/apps/acme/dev/caf%C3%A9/metrics");
    // A '/' in a name would split it into other segments: the GUID names the app instead.
    CHECK(merged_endpoint_path("acme", "dev", "a/b", guid_a) ==
          "/v2/apps/" + std::string(guid_a) + "/metrics");
    CHECK(merged_endpoint_path("", "dev", "web", guid_a) ==
          "/v2/apps/" + std::string(guid_a) + "/metrics");
    CHECK(merged_endpoint_path("", "", "", "").empty());
}

TEST_CASE("merged endpoint path: the app endpoint reads back the names it was built from") {
    const std::string path = merged_endpoint_path("acme org", "dev%", "w/eb?", guid_a);
    CHECK(path == "/v2/apps/" + std::string(guid_a) + "/metrics");
    const std::string named = merged_endpoint_path("acme org", "dev%", "web?#", guid_a);
    const auto parsed = parse_app_request(named, {});
    REQUIRE(parsed.has_value());
    const app_request& request = *parsed;
    CHECK_FALSE(request.only_app_metrics);
    CHECK(routes::path_unescape(request.identifier) == "acme org/dev%/web?#");
}
