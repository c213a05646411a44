// Unit tests: the status console's page from plain snapshots, without sockets: every section is
// there, empty states say so, platform strings are escaped, apps link to their merged endpoint,
// and long tables are bounded.
#include "gateway/status_page.hpp"

#include <catch2/catch.hpp>

using namespace mgw;
using namespace mgw::gateway;
using namespace std::chrono_literals;

namespace {

constexpr const char* guid_a = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
constexpr const char* guid_b = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";

const std::chrono::steady_clock::time_point t0{std::chrono::hours(1000)};

apps::sd_target_group app(std::string guid, std::string org, std::string space, std::string name,
                          std::string sources = ",routes,", std::string instances = "2") {
    apps::sd_target_group group;
    group.app_guid = std::move(guid);
    group.labels = {{"__meta_cf_org_name", std::move(org)},
                    {"__meta_cf_space_name", std::move(space)},
                    {"__meta_cf_app_name", std::move(name)},
                    {"__meta_cf_sources", std::move(sources)},
                    {"__meta_cf_instances", std::move(instances)}};
    return group;
}

status_snapshot empty_snapshot() {
    status_snapshot s;
    s.version = "0.1.0";
    s.now = t0;
    s.uptime = 3725s;
    s.listeners = {{.name = "main", .address = "127.0.0.1:8085", .tls = false},
                   {.name = "health", .address = "127.0.0.1:8080", .tls = false}};
    s.scrape_capacity = 256;
    return s;
}

bool contains(const std::string& page, std::string_view text) {
    return page.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("status page: a self-contained HTML page for laptops and phones") {
    const std::string page = render_status_page(empty_snapshot());
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(contains(page, "<meta charset=\"utf-8\">"));
    CHECK(
        contains(page, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    CHECK(contains(page, "<style>"));
    CHECK(contains(page, "@media (max-width:600px)"));
    CHECK(contains(page, "overflow-x:auto"));
    // Nothing loaded from elsewhere, nothing run.
    CHECK_FALSE(contains(page, "<script"));
    // The one link element is the empty inline icon, so that browsers ask for no favicon.
    const std::size_t icon = page.find("<link rel=\"icon\" href=\"data:,\">");
    CHECK(icon != std::string::npos);
    CHECK(page.find("<link") == icon);
    CHECK(page.find("<link", icon + 1) == std::string::npos);
    CHECK_FALSE(contains(page, "src="));
    CHECK_FALSE(contains(page, "http://"));
    CHECK_FALSE(contains(page, "https://"));
    CHECK(page.ends_with("</html>\n"));
}

TEST_CASE("status page: every section, with its empty state") {
    const std::string page = render_status_page(empty_snapshot());
    for (const char* id : {"gateway", "listeners", "nats", "cluster", "routes", "apps", "push",
                           "rsocket", "bosh", "loggregator"}) {
        INFO(id);
        CHECK(contains(page, std::string("<section id=\"") + id + "\">"));
    }
    CHECK(contains(page, "<dd>0.1.0</dd>"));
    CHECK(contains(page, "<dd>1 h 2 min</dd>"));
    CHECK(contains(page, "<dt>Cluster</dt><dd>single node</dd>"));
    CHECK(contains(page, "<code>127.0.0.1:8085</code>"));
    CHECK(contains(page, "Off: no NATS servers configured"));
    CHECK(contains(page, "Off: single node (cluster.enabled is false)."));
    CHECK(contains(page, "<dt>Newest registration</dt><dd>none</dd>"));
    CHECK(contains(page, "No app known yet"));
    CHECK(contains(page, "Last scrapes are kept for the 256 most recently scraped apps."));
    CHECK(contains(page, "Off: push is disabled"));
    CHECK(contains(page, "Off: no RSocket listener configured."));
    CHECK(contains(page, "Off: no BOSH ingest listener configured."));
    CHECK(contains(page, "Off: neither loggregator.push nor loggregator.bosh is set."));
}

TEST_CASE("status page: modules that are on but hold nothing say so") {
    status_snapshot s = empty_snapshot();
    s.push_enabled = true;
    s.rsocket = rsocket::proxy_status{};
    s.bosh_subscriptions.emplace();
    const std::string page = render_status_page(s);
    CHECK(contains(page, "No push binding."));
    CHECK(contains(page, "No client has joined an app."));
    CHECK(contains(page, "No subscription."));
}

TEST_CASE("status page: NATS state and route table staleness") {
    status_snapshot s = empty_snapshot();
    s.nats = nats::client_status{.connected = false,
                                 .servers = {"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"},
                                 .disconnects = 3,
                                 .reconnects = 2};
    s.routes = {.routes = 4,
                .endpoints = 5,
                .apps = 2,
                .instances = 3,
                .static_endpoints = 1,
                .newest_registration_age = 12s,
                .oldest_registration_age = 125s};
    std::string page = render_status_page(s);
    CHECK(contains(page, "<dd class=\"bad\">not connected</dd>"));
    CHECK(contains(page, "<dd>nats://10.0.0.1:4222, nats://10.0.0.2:4222</dd>"));
    CHECK(contains(page, "<dt>Disconnects</dt><dd>3</dd>"));
    CHECK(contains(page, "<dt>Apps</dt><dd>2</dd>"));
    CHECK(contains(page, "<dt>Instances</dt><dd>3</dd>"));
    CHECK(contains(page, "<dt>Endpoints</dt><dd>5 (1 static)</dd>"));
    CHECK(contains(page, "<dt>Newest registration</dt><dd>12 s ago</dd>"));
    CHECK(contains(page, "<dt>Oldest registration</dt><dd>2 min 5 s ago</dd>"));
    s.nats->connected = true;
    page = render_status_page(s);
    CHECK(contains(page, "<dd class=\"ok\">connected</dd>"));
}

TEST_CASE("status page: the cluster's node, state and live peers") {
    status_snapshot s = empty_snapshot();
    s.cluster = cluster::cluster_status{
        .name = "prod",
        .node = "gw-1",
        .boot = "00aa11bb",
        .connected = true,
        .peers = {{.node = "gw-2", .boot = "22cc", .last_heard = t0 - 1s},
                  {.node = "<gw-3>", .boot = "33dd", .last_heard = t0 - 65s}},
        .gathers = 12,
        .partial = 2};
    std::string page = render_status_page(s);
    CHECK(contains(page, "<dt>Cluster</dt><dd>prod, node gw-1</dd>"));
    CHECK(contains(page, "<dt>This node</dt><dd>gw-1 (boot 00aa11bb)</dd>"));
    CHECK(contains(page, "<dd class=\"ok\">connected: answers gather from the live peers</dd>"));
    CHECK(contains(page, "<dt>Gathers</dt><dd>12 (2 partial)</dd>"));
    CHECK(contains(page, "<td>gw-2</td><td class=\"id\"><code>22cc</code></td><td>1 s ago</td>"));
    CHECK(contains(page, "<td>&lt;gw-3&gt;</td>"));
    CHECK(contains(page, "<td>1 min 5 s ago</td>"));
    s.cluster->connected = false;
    s.cluster->peers.clear();
    page = render_status_page(s);
    CHECK(contains(
        page, "<dd class=\"bad\">not connected: answers have this node&#39;s series only</dd>"));
    CHECK(contains(page, "No live peer."));
}

TEST_CASE("status page: the broker's binding store in cluster mode") {
    status_snapshot s = empty_snapshot();
    s.cluster = cluster::cluster_status{.name = "prod",
                                        .node = "gw-1",
                                        .boot = "00aa11bb",
                                        .connected = true,
                                        .peers = {},
                                        .gathers = 0,
                                        .partial = 0};
    // The broker off: nothing about its store.
    CHECK_FALSE(contains(render_status_page(s), "Broker bindings"));
    s.bindings_store = cluster::bindings_store_status{};
    CHECK(contains(render_status_page(s),
                   "<dt>Broker bindings</dt><dd class=\"bad\">local: each node&#39;s own"));
    s.bindings_store = cluster::bindings_store_status{.shared = true,
                                                      .bucket = "mgw_prod_bindings",
                                                      .last_revision = 0,
                                                      .last_applied = std::nullopt,
                                                      .last_answer = std::nullopt,
                                                      .instances = 2,
                                                      .bindings = 5};
    std::string page = render_status_page(s);
    CHECK(contains(page,
                   "<dt>Broker bindings</dt><dd>kv: bucket mgw_prod_bindings, 2 instances, 5 "
                   "bindings</dd>"));
    CHECK(contains(page, "<dt>Last change applied</dt><dd>none yet</dd>"));
    CHECK(contains(page, "<dd class=\"bad\">not answering (never answered)</dd>"));
    s.bindings_store->last_revision = 42;
    s.bindings_store->last_applied = t0 - 3s;
    s.bindings_store->last_answer = t0 - 1s;
    page = render_status_page(s);
    CHECK(contains(page, "<dt>Last change applied</dt><dd>revision 42, 3 s ago</dd>"));
    CHECK(contains(page, "<dt>JetStream</dt><dd class=\"ok\">reachable</dd>"));
    s.bindings_store->last_answer = t0 - 10s;
    CHECK(contains(render_status_page(s),
                   "<dd class=\"bad\">not answering (last answer 10 s ago)</dd>"));
}

TEST_CASE("status page: apps link to their merged endpoint and show their last scrape") {
    status_snapshot s = empty_snapshot();
    s.apps = {app(guid_a, "acme", "dev", "web", ",routes,push,"),
              app(guid_b, "acme", "my space", "api")};
    apps::app_scrape_record scraped;
    scraped.key = guid_a;
    scraped.identifier = "acme/dev/web";
    scraped.app_guid = guid_a;
    scraped.at = t0 - 42s;
    scraped.instances_up = 1;
    scraped.instances_down = 2;
    scraped.duration = 250ms;
    scraped.status = 200;
    scraped.errors = {{"connect_refused", 1}, {"status_503", 1}};
    s.scrapes = {scraped};
    const std::string page = render_status_page(s);
    CHECK(contains(page,
                   "<td><span class=\"name\">acme / dev / web</span><br><code "
                   "class=\"guid\">" +
                       std::string(guid_a) + "</code></td>"));
    CHECK(contains(page, "<a href=\"/v2/apps/acme/dev/web/metrics\">metrics</a>"));
    // Names are percent-encoded in the path, as the app endpoint unescapes them.
    CHECK(contains(page, "<a href=\"/v2/apps/acme/my%20space/api/metrics\">metrics</a>"));
    CHECK(contains(page, "<td>routes, push</td>"));
    CHECK(contains(page, "<td>42 s ago, HTTP 200</td>"));
    CHECK(contains(page, "<td class=\"n\">1</td><td class=\"n bad\">2</td>"));
    CHECK(contains(page, "<td class=\"n\">250 ms</td>"));
    CHECK(contains(page, "<td>connect_refused 1, status_503 1</td>"));
    CHECK(contains(page, "none recorded"));
}

TEST_CASE("status page: an app scraped but no longer discovered keeps its row") {
    status_snapshot s = empty_snapshot();
    apps::app_scrape_record gone;
    gone.key = guid_b;
    gone.identifier = guid_b;
    gone.app_guid = guid_b;
    gone.org = "globex";
    gone.space = "prod";
    gone.app = "shop";
    gone.at = t0 - 3s;
    gone.status = 406;
    gone.instances_down = 1;
    gone.errors = {{"status_404", 1}};
    s.scrapes = {gone};
    const std::string page = render_status_page(s);
    CHECK(contains(page, "<span class=\"name\">globex / prod / shop</span>"));
    CHECK(contains(page, "scraped, not discovered now"));
    CHECK(contains(page, "<a href=\"/v2/apps/globex/prod/shop/metrics\">metrics</a>"));
    CHECK(contains(page, "<td>3 s ago, HTTP 406</td>"));
}

TEST_CASE("status page: every string from the platform or a client is escaped") {
    status_snapshot s = empty_snapshot();
    s.apps = {app(guid_a, "o&rg", "sp\"ace", "<script>alert(1)</script>"),
              app(guid_b, "o&rg", "sp\"ace", "<img src=x>")};
    s.push_enabled = true;
    s.push_bindings = {{.binding_id = "<b>",
                        .app_guid = guid_a,
                        .plan_id = "'plan'",
                        .limits = {},
                        .labels = {{"app_name", "<i>app</i>"}}}};
    s.rsocket.emplace().apps = {{.app_guid = "<guid>", .clients = 1}};
    s.bosh_subscriptions.emplace().emplace_back().id = "<sub>";
    s.loggregator.emplace().agent = "<agent>:3458";
    s.nats.emplace().servers = {"nats://<x>:4222"};
    s.listeners.push_back({.name = "rsocket tcp", .address = "<addr>", .tls = false});
    const std::string page = render_status_page(s);
    CHECK_FALSE(contains(page, "<script>"));
    CHECK(contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK(contains(page, "o&amp;rg / sp&quot;ace / &lt;script&gt;"));
    // The link's names are percent-encoded, so nothing in the attribute can close it; a name
    // with a '/' (as "</script>") is linked by GUID.
    CHECK(contains(page, "href=\"/v2/apps/" + std::string(guid_a) + "/metrics\""));
    CHECK(contains(page, "href=\"/v2/apps/o%26rg/sp%22ace/%3Cimg%20src%3Dx%3E/metrics\""));
    for (const char* raw :
         {"<b>", "'plan'", "<i>", "<guid>", "<sub>", "<agent>", "<x>", "<addr>"}) {
        INFO(raw);
        CHECK_FALSE(contains(page, raw));
    }
    CHECK(contains(page, "&lt;b&gt;"));
    CHECK(contains(page, "&#39;plan&#39;"));
    CHECK(contains(page, "&lt;sub&gt;"));
}

TEST_CASE("status page: push bindings with their rate-limit use") {
    status_snapshot s = empty_snapshot();
    s.push_enabled = true;
    s.push_bindings = {
        {.binding_id = "bind-1",
         .app_guid = guid_a,
         .plan_id = "standard",
         .limits = {.requests_per_minute = 60, .metrics_per_minute = 1000},
         .labels = {{"organization_name", "acme"}, {"space_name", "dev"}, {"app_name", "web"}}},
        {.binding_id = "bind-2",
         .app_guid = guid_b,
         .plan_id = "unlimited",
         .limits = {},
         .labels = {}},
    };
    s.push_use = {{.binding_id = "bind-1", .requests = 7, .metrics = 120}};
    const std::string page = render_status_page(s);
    CHECK(contains(page, "<td>acme / dev / web (" + std::string(guid_a) + ")</td>"));
    CHECK(contains(page, "<td class=\"n\">7 / 60</td><td class=\"n\">120 / 1000</td>"));
    CHECK(contains(page, "<td>" + std::string(guid_b) + "</td><td class=\"id\">unlimited</td>"));
    CHECK(contains(page, "<td class=\"n\">0 / unlimited</td><td class=\"n\">0 / unlimited</td>"));
}

TEST_CASE("status page: RSocket clients, BOSH subscriptions and the Loggregator emitter") {
    status_snapshot s = empty_snapshot();
    s.rsocket = rsocket::proxy_status{.open_connections = 4,
                                      .ready_clients = 3,
                                      .held_pushes = 1,
                                      .held_push_bytes = 2048,
                                      .apps = {{.app_guid = guid_a, .clients = 2}}};
    s.bosh_subscriptions = std::vector<bosh::subscription_stats>{{.id = "firehose",
                                                                  .consumers = 2,
                                                                  .queued = 5,
                                                                  .queued_bytes = 700,
                                                                  .delivered = 90,
                                                                  .dropped_full = 3,
                                                                  .dropped_memory = 0,
                                                                  .returned = 0}};
    s.loggregator = loggregator::emitter_status{.agent = "127.0.0.1:3458",
                                                .agent_up = true,
                                                .push = true,
                                                .bosh = false,
                                                .alerts = true,
                                                .queued_envelopes = 12,
                                                .queued_bytes = 3000,
                                                .sent = 450,
                                                .dropped = {{"queue_full", 2}, {"memory", 0}}};
    const std::string page = render_status_page(s);
    CHECK(contains(page, "<dt>Connections</dt><dd>4</dd>"));
    CHECK(contains(page, "<dt>Ready clients</dt><dd>3</dd>"));
    CHECK(contains(page, "<dt>Held pushes</dt><dd>1 (2.0 KiB)</dd>"));
    CHECK(contains(page, "<td></td><td class=\"id\"><code>" + std::string(guid_a) +
                             "</code></td><td class=\"n\">2</td><td><a href=\"/v2/apps/" + guid_a +
                             "/metrics\">metrics</a></td>"));
    CHECK(contains(page,
                   "<code>firehose</code></td><td class=\"n\">2</td><td class=\"n\">5</td>"
                   "<td class=\"n\">700 B</td><td class=\"n\">90</td>"
                   "<td class=\"n bad\">3</td><td class=\"n\">0</td>"));
    CHECK(contains(page, "<dd class=\"ok\">connected</dd>"));
    CHECK(contains(page, "<dt>Forwards</dt><dd>pushes, alerts</dd>"));
    CHECK(contains(page, "<dt>Queued</dt><dd>12 envelopes (2.9 KiB)</dd>"));
    CHECK(contains(page, "<dt>Sent</dt><dd>450 envelopes</dd>"));
    CHECK(contains(page, "<dt>Dropped</dt><dd>queue_full 2, memory 0</dd>"));
}

TEST_CASE("status page: long tables stop at the row bound and say how many are left out") {
    status_snapshot s = empty_snapshot();
    std::vector<bosh::subscription_stats> subs;
    for (std::size_t i = 0; i < status_page_max_rows + 7; ++i) {
        subs.emplace_back().id = "sub-" + std::to_string(i);
    }
    s.bosh_subscriptions = std::move(subs);
    const std::string page = render_status_page(s);
    CHECK(contains(page, "<code>sub-499</code>"));
    CHECK_FALSE(contains(page, "<code>sub-500</code>"));
    CHECK(contains(page, "7 more not shown (at most 500 rows)."));
}

TEST_CASE("status page: html_escape and format_age") {
    CHECK(html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(html_escape("plain") == "plain");
    CHECK(format_age(0s) == "0 s");
    CHECK(format_age(-5s) == "0 s");
    CHECK(format_age(59s) == "59 s");
    CHECK(format_age(61s) == "1 min 1 s");
    CHECK(format_age(7260s) == "2 h 1 min");
    CHECK(format_age(std::chrono::hours(50)) == "2 d 2 h");
}

TEST_CASE("status page: RSocket apps take their names from discovery, whatever the GUID's case") {
    status_snapshot s = empty_snapshot();
    s.apps = {app(guid_a, "acme", "dev", "web", ",routes,rsocket,")};
    s.rsocket.emplace().apps = {{.app_guid = "A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15", .clients = 3}};
    const std::string page = render_status_page(s);
    CHECK(contains(page,
                   "<td>acme / dev / web</td><td class=\"id\"><code>"
                   "A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15</code></td><td class=\"n\">3</td>"
                   "<td><a href=\"/v2/apps/acme/dev/web/metrics\">metrics</a></td>"));
}

TEST_CASE("status page: apps are listed by name") {
    status_snapshot s = empty_snapshot();
    s.apps = {app(guid_a, "zeta", "dev", "web"), app(guid_b, "alpha", "dev", "api")};
    const std::string page = render_status_page(s);
    const std::size_t alpha = page.find("<span class=\"name\">alpha / dev / api</span>");
    const std::size_t zeta = page.find("<span class=\"name\">zeta / dev / web</span>");
    REQUIRE(alpha != std::string::npos);
    REQUIRE(zeta != std::string::npos);
    CHECK(alpha < zeta);
}
