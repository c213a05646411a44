// Unit tests: route table register/unregister, lookups, de-duplication, pruning with an injected
// clock, static routes, snapshot isolation and the JSON dump.
#include <cctype>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <mgw/routes/route_table.hpp>

using namespace mgw::routes;
using namespace std::chrono_literals;

namespace {

const route_clock::time_point t0{std::chrono::hours(1000)};

struct app_spec {
    std::string org = "myorg1";
    std::string space = "myspace1";
    std::string name = "test1";
    std::string app_id = "a758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
    std::string process_type = "web";
};

registry_message instance(const app_spec& app, std::string host, std::uint16_t port,
                          std::string index, std::vector<std::string> uris) {
    registry_message m;
    m.host = std::move(host);
    m.port = port;
    m.uris = std::move(uris);
    m.app = app.app_id;
    m.private_instance_id = "inst-" + index;
    m.private_instance_index = index;
    m.tags = {{"component", "route-emitter"}, {"app_id", app.app_id},
              {"app_name", app.name},         {"space_name", app.space},
              {"organization_name", app.org}, {"process_type", app.process_type},
              {"instance_id", index},         {"source_id", app.app_id}};
    return m;
}

std::vector<std::string> addresses(const endpoint_list& list) {
    std::vector<std::string> out;
    for (const auto& e : list) {
        out.push_back(e->address);
    }
    return out;
}

}  // namespace

TEST_CASE("register adds an endpoint under every normalised uri") {
    route_table table;
    const auto result = table.register_endpoint(
        instance({}, "10.0.0.1", 61000, "0", {"Route1.Example.com/", "route1.example.com/p?x=1"}),
        t0);
    CHECK(result.added == 2);
    CHECK(result.has_app_id);
    CHECK(result.rejected.empty());
    CHECK(table.endpoint_count() == 2);
    const auto snap = table.publish();
    REQUIRE(snap->routes().size() == 2);
    CHECK(snap->routes().contains("route1.example.com"));
    CHECK(snap->routes().contains("route1.example.com/p"));
    CHECK(addresses(snap->find_route("ROUTE1.example.com")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(snap->endpoint_count() == 2);
}

TEST_CASE("tls_port wins for the address and marks the endpoint TLS") {
    route_table table;
    auto m = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    m.tls_port = 61001;
    table.register_endpoint(m, t0);
    const auto found = table.publish()->find_route("r.example.com");
    REQUIRE(found.size() == 1);
    CHECK(found[0]->address == "10.0.0.1:61001");
    CHECK(found[0]->tls);
    CHECK(found[0]->port == 61001);
}

TEST_CASE("messages that cannot apply are rejected with a reason") {
    route_table table;
    auto no_host = instance({}, "", 61000, "0", {"r.example.com"});
    CHECK(table.register_endpoint(no_host, t0).rejected == "no host");
    auto no_port = instance({}, "10.0.0.1", 0, "0", {"r.example.com"});
    CHECK(table.register_endpoint(no_port, t0).rejected == "no port");
    auto no_uris = instance({}, "10.0.0.1", 61000, "0", {});
    no_uris.tags.clear();  // Promfetcher crashed on exactly this message
    const auto r = table.register_endpoint(no_uris, t0);
    CHECK(r.rejected == "no uris");
    CHECK_FALSE(r.has_app_id);
    CHECK(table.register_endpoint(instance({}, "10.0.0.1", 1, "0", {"?q", "/"}), t0).rejected ==
          "no uris");
    CHECK(table.endpoint_count() == 0);
}

TEST_CASE("re-register refreshes an unchanged endpoint and replaces a changed one") {
    route_table table;
    const auto m = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    table.register_endpoint(m, t0);
    const auto before = table.publish();

    const auto refreshed = table.register_endpoint(m, t0 + 10s);
    CHECK(refreshed.refreshed == 1);
    CHECK_FALSE(table.dirty());
    CHECK(table.publish() == before);
    CHECK(before->find_route("r.example.com")[0]->last_seen_at() == t0 + 10s);

    auto renamed = m;
    renamed.tags["app_name"] = "renamed";
    const auto updated = table.register_endpoint(renamed, t0 + 20s);
    CHECK(updated.updated == 1);
    CHECK(table.endpoint_count() == 1);
    const auto after = table.publish();
    CHECK(after->find_route("r.example.com")[0]->tag("app_name") == "renamed");
    CHECK(before->find_route("r.example.com")[0]->tag("app_name") == "test1");
}

TEST_CASE("unregister removes the address from the given uris and drops empty keys") {
    route_table table;
    table.register_endpoint(
        instance({}, "10.0.0.1", 61000, "0", {"a.example.com", "b.example.com"}), t0);
    table.register_endpoint(instance({}, "10.0.0.2", 61000, "1", {"a.example.com"}), t0);
    const auto r =
        table.unregister_endpoint(instance({}, "10.0.0.1", 61000, "0", {"A.example.com/?x"}));
    CHECK(r.removed == 1);
    CHECK(table.endpoint_count() == 2);
    auto snap = table.publish();
    CHECK(addresses(snap->find_route("a.example.com")) ==
          std::vector<std::string>{"10.0.0.2:61000"});
    CHECK(addresses(snap->find_route("b.example.com")) ==
          std::vector<std::string>{"10.0.0.1:61000"});

    CHECK(table.unregister_endpoint(instance({}, "10.0.0.9", 61000, "0", {"a.example.com"}))
              .removed == 0);
    table.unregister_endpoint(instance({}, "10.0.0.2", 61000, "1", {"a.example.com"}));
    snap = table.publish();
    CHECK_FALSE(snap->routes().contains("a.example.com"));
    CHECK(snap->routes().size() == 1);
}

TEST_CASE("unregister from a former owner of the address keeps the current instance") {
    route_table table;
    table.register_endpoint(instance({}, "10.0.0.1", 61000, "0", {"r.example.com"}), t0);
    auto stale = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    stale.private_instance_id = "previous-owner";
    const auto r = table.unregister_endpoint(stale);
    CHECK(r.removed == 0);
    CHECK(r.skipped_other_instance == 1);
    CHECK(table.endpoint_count() == 1);
    stale.private_instance_id.clear();  // emitters that do not send it still unregister
    CHECK(table.unregister_endpoint(stale).removed == 1);
}

TEST_CASE("unregister of a TLS endpoint uses the TLS address") {
    route_table table;
    auto m = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    m.tls_port = 61001;
    table.register_endpoint(m, t0);
    auto plain = m;
    plain.tls_port = 0;
    CHECK(table.unregister_endpoint(plain).removed == 0);
    CHECK(table.unregister_endpoint(m).removed == 1);
}

TEST_CASE("org/space/app lookup: web only, case-sensitive, de-duplicated by address") {
    route_table table;
    const app_spec app;
    // Same instance under two routes: one result.
    table.register_endpoint(
        instance(app, "10.0.0.1", 61000, "1", {"r1.example.com", "r2.example.com"}), t0);
    table.register_endpoint(instance(app, "10.0.0.2", 61000, "0", {"r1.example.com"}), t0);
    app_spec worker = app;
    worker.process_type = "worker";
    table.register_endpoint(instance(worker, "10.0.0.3", 61000, "0", {"w.example.com"}), t0);
    app_spec other = app;
    other.name = "test2";
    other.app_id = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
    table.register_endpoint(instance(other, "10.0.0.4", 61000, "0", {"r3.example.com"}), t0);

    const auto snap = table.publish();
    // Ordered by instance index.
    CHECK(addresses(snap->find_app("myorg1", "myspace1", "test1")) ==
          std::vector<std::string>{"10.0.0.2:61000", "10.0.0.1:61000"});
    CHECK(snap->find_app("MyOrg1", "myspace1", "test1").empty());
    CHECK(snap->find_app("myorg1", "myspace1", "wrong").empty());
    CHECK(addresses(snap->find_app("myorg1", "myspace1", "test2")) ==
          std::vector<std::string>{"10.0.0.4:61000"});
    // Route lookups keep every process type.
    CHECK(addresses(snap->find_route("w.example.com")) ==
          std::vector<std::string>{"10.0.0.3:61000"});
}

TEST_CASE("app GUID lookup: canonical spelling, web only, de-duplicated") {
    route_table table;
    const app_spec app;
    table.register_endpoint(
        instance(app, "10.0.0.1", 61000, "0", {"r1.example.com", "r2.example.com"}), t0);
    app_spec worker = app;
    worker.process_type = "worker";
    table.register_endpoint(instance(worker, "10.0.0.3", 61000, "0", {"w.example.com"}), t0);
    const auto snap = table.publish();
    CHECK(addresses(snap->find_app_id(app.app_id)) == std::vector<std::string>{"10.0.0.1:61000"});
    // find_app_id takes the canonical spelling; resolve() canonicalises.
    CHECK(snap->find_app_id("A758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15").empty());
    CHECK(snap->find_app_id("c758f25d-2a3b-4c5d-8e9f-de3aabcd9e15").empty());
}

TEST_CASE("an app_id tag registered in another UUID spelling is found by the canonical one") {
    route_table table;
    app_spec app;
    app.app_id = "E758F25D-2A3B-4C5D-8E9F-DE3AABCD9E15";
    table.register_endpoint(instance(app, "10.0.0.1", 61000, "0", {"r1.example.com"}), t0);
    const auto snap = table.publish();
    CHECK(addresses(snap->find_app_id("e758f25d-2a3b-4c5d-8e9f-de3aabcd9e15")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(addresses(snap->resolve("{e758f25d-2a3b-4c5d-8e9f-de3aabcd9e15}")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
}

TEST_CASE("resolve follows Promfetcher's identifier rules") {
    route_table table;
    const app_spec app;
    table.register_endpoint(instance(app, "10.0.0.1", 61000, "0", {"route1.example.com"}), t0);
    app_spec path_app = app;
    path_app.app_id = "d758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
    path_app.name = "pathapp";
    table.register_endpoint(
        instance(path_app, "10.0.0.5", 61000, "0", {"host.example.com/a/b", "host.example.com/a"}),
        t0);
    const auto snap = table.publish();

    CHECK(addresses(snap->resolve("myorg1/myspace1/test1")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(addresses(snap->resolve("myorg1%2Fmyspace1%2Ftest1")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(addresses(snap->resolve(app.app_id)) == std::vector<std::string>{"10.0.0.1:61000"});
    // Every form google/uuid Parse accepts finds the app (the README promises them; Promfetcher
    // compared them as strings and found nothing).
    std::string upper = app.app_id;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string hex32;
    for (char c : app.app_id) {
        if (c != '-') {
            hex32 += c;
        }
    }
    for (const std::string& form :
         {"{" + app.app_id + "}", "urn:uuid:" + app.app_id, "URN:UUID:" + upper, upper, hex32,
          "%7B" + app.app_id + "%7D"}) {
        INFO(form);
        CHECK(addresses(snap->resolve(form)) == std::vector<std::string>{"10.0.0.1:61000"});
    }
    CHECK(addresses(snap->resolve("Route1.Example.com/")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(addresses(snap->resolve("host.example.com/a")) ==
          std::vector<std::string>{"10.0.0.5:61000"});
    // A 2-segment route path is read as org/space/app, as in Promfetcher.
    CHECK(snap->resolve("host.example.com/a/b").empty());
    // Malformed escapes: the raw value is used.
    CHECK(snap->resolve("route1.example.com%").empty());
    CHECK(snap->resolve("\"route1.example.com\"").empty());
    CHECK(snap->resolve("unknown.example.com").empty());
}

TEST_CASE("endpoints without app_id are counted but kept out of lookups") {
    route_table table;
    registry_message system_route;
    system_route.host = "10.0.1.1";
    system_route.port = 8080;
    system_route.uris = {"uaa.system.example.com"};
    system_route.tags = {{"component", "uaa"}};
    const auto r = table.register_endpoint(system_route, t0);
    CHECK(r.added == 1);
    CHECK_FALSE(r.has_app_id);
    const auto snap = table.publish();
    CHECK(snap->without_app_id_count() == 1);
    CHECK(snap->endpoint_count() == 1);
    CHECK(snap->routes().contains("uaa.system.example.com"));
    CHECK(snap->resolve("uaa.system.example.com").empty());
}

TEST_CASE("pruning drops stale plain endpoints, honours per-endpoint thresholds and the cap") {
    route_table table(route_table_options{120s});
    auto short_lived = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    short_lived.stale_threshold_in_seconds = 10;
    auto uncapped = instance({}, "10.0.0.2", 61000, "1", {"r.example.com"});
    uncapped.stale_threshold_in_seconds = 100000;  // capped to 120 s
    auto defaulted = instance({}, "10.0.0.3", 61000, "2", {"other.example.com"});
    table.register_endpoint(short_lived, t0);
    table.register_endpoint(uncapped, t0);
    table.register_endpoint(defaulted, t0);

    CHECK(table.prune(t0 + 10s) == 0);  // exactly at the threshold: still alive
    CHECK(table.prune(t0 + 11s) == 1);
    auto snap = table.publish();
    CHECK(addresses(snap->find_route("r.example.com")) ==
          std::vector<std::string>{"10.0.0.2:61000"});
    CHECK(snap->find_route("r.example.com")[0]->stale_threshold == 120s);

    table.register_endpoint(defaulted, t0 + 60s);  // refresh keeps it
    CHECK(table.prune(t0 + 121s) == 1);
    snap = table.publish();
    CHECK_FALSE(snap->routes().contains("r.example.com"));
    CHECK(snap->routes().contains("other.example.com"));
    CHECK(table.prune(t0 + 181s) == 1);
    CHECK(table.publish()->routes().empty());
    CHECK(table.endpoint_count() == 0);
}

TEST_CASE("TLS endpoints are not time-pruned") {
    route_table table(route_table_options{30s});
    auto m = instance({}, "10.0.0.1", 61000, "0", {"r.example.com"});
    m.tls_port = 61001;
    table.register_endpoint(m, t0);
    CHECK(table.prune(t0 + 24h) == 0);
    CHECK(table.endpoint_count() == 1);
}

TEST_CASE("pruning pauses while NATS is down and resumes with fresh timestamps") {
    route_table table(route_table_options{30s});
    table.register_endpoint(instance({}, "10.0.0.1", 61000, "0", {"r.example.com"}), t0);
    table.suspend_pruning();
    CHECK(table.pruning_suspended());
    CHECK(table.prune(t0 + 1h) == 0);
    table.resume_pruning(t0 + 1h);
    CHECK_FALSE(table.pruning_suspended());
    CHECK(table.prune(t0 + 1h + 30s) == 0);
    CHECK(table.prune(t0 + 1h + 31s) == 1);
}

TEST_CASE("static routes are looked up, never pruned and not changed by NATS") {
    route_table table(route_table_options{30s});
    static_route route;
    route.uri = "Static.Example.com";
    route.host = "127.0.0.1";
    route.port = 9100;
    route.tags = {{"app_id", "e758f25d-2a3b-4c5d-8e9f-de3aabcd9e15"},
                  {"app_name", "node"},
                  {"space_name", "s"},
                  {"organization_name", "o"},
                  {"process_type", "web"},
                  {"instance_id", "0"}};
    table.add_static(route, t0);
    CHECK(table.endpoint_count() == 1);
    CHECK(table.prune(t0 + 24h) == 0);

    registry_message same_address;
    same_address.host = "127.0.0.1";
    same_address.port = 9100;
    same_address.uris = {"static.example.com"};
    same_address.tags = {{"app_id", "other"}};
    CHECK(table.register_endpoint(same_address, t0).skipped_static == 1);
    CHECK(table.unregister_endpoint(same_address).skipped_static == 1);

    const auto snap = table.publish();
    const auto found = snap->resolve("o/s/node");
    REQUIRE(found.size() == 1);
    CHECK(found[0]->static_route);
    CHECK(found[0]->address == "127.0.0.1:9100");
    CHECK(found[0]->app == "e758f25d-2a3b-4c5d-8e9f-de3aabcd9e15");
    CHECK(addresses(snap->resolve("e758f25d-2a3b-4c5d-8e9f-de3aabcd9e15")) ==
          std::vector<std::string>{"127.0.0.1:9100"});

    static_route bad = route;
    bad.port = 0;
    CHECK_THROWS_AS(table.add_static(bad, t0), std::invalid_argument);
    bad = route;
    bad.host.clear();
    CHECK_THROWS_AS(table.add_static(bad, t0), std::invalid_argument);
    bad = route;
    bad.uri = "/";
    CHECK_THROWS_AS(table.add_static(bad, t0), std::invalid_argument);
}

TEST_CASE("a published snapshot never changes under its reader") {
    route_table table;
    table.register_endpoint(instance({}, "10.0.0.1", 61000, "0", {"r.example.com"}), t0);
    const auto held = table.publish();
    CHECK(table.snapshot() == held);

    table.register_endpoint(instance({}, "10.0.0.2", 61000, "1", {"r.example.com"}), t0);
    table.unregister_endpoint(instance({}, "10.0.0.1", 61000, "0", {"r.example.com"}));
    // Not published yet: readers still get the old view.
    CHECK(table.snapshot() == held);
    const auto next = table.publish();
    CHECK(next != held);
    CHECK(addresses(held->find_route("r.example.com")) ==
          std::vector<std::string>{"10.0.0.1:61000"});
    CHECK(addresses(next->find_route("r.example.com")) ==
          std::vector<std::string>{"10.0.0.2:61000"});
}

TEST_CASE("IPv6 hosts are bracketed in addresses") {
    route_table table;
    table.register_endpoint(instance({}, "fd00::1", 8080, "0", {"v6.example.com"}), t0);
    CHECK(addresses(table.publish()->find_route("v6.example.com")) ==
          std::vector<std::string>{"[fd00::1]:8080"});
}

TEST_CASE("routes_json dumps every endpoint with escaped keys") {
    route_table table;
    auto m = instance({}, "10.0.0.1", 61000, "0", {"r.example.com/\"quoted\""});
    m.tls_port = 61001;
    m.stale_threshold_in_seconds = 30;
    m.server_cert_domain_san = "inst-0";
    table.register_endpoint(m, t0);
    const std::string text = routes_json(*table.publish(), t0 + 5s);
    const auto doc = boost::json::parse(text).as_object();
    REQUIRE(doc.size() == 1);
    const auto& list = doc.at("r.example.com/\"quoted\"").as_array();
    REQUIRE(list.size() == 1);
    const auto& e = list[0].as_object();
    CHECK(e.at("address") == "10.0.0.1:61001");
    CHECK(e.at("tls") == true);
    CHECK(e.at("ttl") == 30);
    CHECK(e.at("last_seen_seconds_ago") == 5);
    CHECK(e.at("server_cert_domain_san") == "inst-0");
    CHECK(e.at("private_instance_id") == "inst-0");
    CHECK(e.at("tags").as_object().at("app_name") == "test1");
    CHECK(e.at("static") == false);
}

TEST_CASE("summarize counts apps and instances and ages the registrations") {
    route_table table;
    CHECK(summarize(*table.publish(), t0).apps == 0);
    CHECK_FALSE(summarize(*table.publish(), t0).newest_registration_age);
    const app_spec a;
    app_spec b;
    b.name = "other";
    b.app_id = "b758f25d-2a3b-4c5d-8e9f-de3aabcd9e15";
    table.register_endpoint(instance(a, "10.0.0.1", 8080, "0", {"a.example.com", "a2.example.com"}),
                            t0);
    table.register_endpoint(instance(a, "10.0.0.2", 8080, "1", {"a.example.com"}), t0 + 20s);
    table.register_endpoint(instance(b, "10.0.0.3", 8080, "0", {"b.example.com"}), t0 + 30s);
    registry_message no_app;
    no_app.host = "10.0.0.9";
    no_app.port = 80;
    no_app.uris = {"plain.example.com"};
    table.register_endpoint(no_app, t0 + 5s);
    static_route fixed;
    fixed.uri = "static.example.com";
    fixed.host = "127.0.0.1";
    fixed.port = 9100;
    table.add_static(fixed, t0 - 1h);

    const route_summary s = summarize(*table.publish(), t0 + 40s);
    CHECK(s.routes == 5);
    CHECK(s.endpoints == 6);
    CHECK(s.apps == 2);
    CHECK(s.instances == 3);  // distinct addresses that carry an app_id
    CHECK(s.static_endpoints == 1);
    REQUIRE(s.newest_registration_age);
    CHECK(*s.newest_registration_age == 10s);
    // The static route (seen an hour before) is not a registration.
    CHECK(*s.oldest_registration_age == 40s);
    // A clock read before the last refresh shows no negative age.
    CHECK(*summarize(*table.publish(), t0 + 25s).newest_registration_age == 0s);
}
