// The catalog document: two services from configuration, the ids the Cloud Controller keys on.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <mgw/broker/catalog.hpp>

namespace json = boost::json;
using mgw::broker::catalog;

TEST_CASE("the default catalog: promfetcher with Promfetcher's ids, metrics-forwarder unlimited") {
    const catalog c(mgw::broker::broker_config{});
    const json::value doc = json::parse(c.json());
    const json::array& services = doc.at("services").as_array();
    REQUIRE(services.size() == 2);

    const json::object& promfetcher = services[0].as_object();
    CHECK(promfetcher.at("id") == "e44a55b7-b532-4247-89f3-4ea92054b793");
    CHECK(promfetcher.at("name") == "promfetcher");
    CHECK(promfetcher.at("description") ==
          "Fetch your prometheus metrics on each instance of your app");
    CHECK(promfetcher.at("bindable") == true);
    CHECK(promfetcher.at("bindings_retrievable") == true);
    CHECK(promfetcher.at("instances_retrievable") == true);
    CHECK(promfetcher.at("plan_updateable") == false);
    const json::array& fetch_plans = promfetcher.at("plans").as_array();
    REQUIRE(fetch_plans.size() == 1);
    CHECK(fetch_plans[0].at("id") == "3294e4fa-42b3-4505-b289-8fb3695b5b3a");
    CHECK(fetch_plans[0].at("name") == "fetch-app");
    CHECK(fetch_plans[0].at("free") == true);
    CHECK(fetch_plans[0].at("metadata").at("displayName") == "fetch-app");

    const json::object& forwarder = services[1].as_object();
    CHECK(forwarder.at("name") == "metrics-forwarder");
    CHECK(forwarder.at("id") == "20ca29fa-5601-4846-bf41-d73ed6c7b157");
    const json::array& plans = forwarder.at("plans").as_array();
    REQUIRE(plans.size() == 1);
    CHECK(plans[0].at("name") == "unlimited");
    CHECK(plans[0].at("metadata").at("bullets").as_array()[0] == "unlimited requests");

    REQUIRE(c.find_service("20ca29fa-5601-4846-bf41-d73ed6c7b157") != nullptr);
    CHECK(c.find_service("20ca29fa-5601-4846-bf41-d73ed6c7b157")->kind ==
          mgw::broker::service_kind::metrics_forwarder);
    CHECK(c.find_service("nope") == nullptr);
}

TEST_CASE("forwarder plans carry their limits, plans are found only under their own service") {
    auto config = mgw::broker::broker_config{};
    config.metrics_forwarder.plans.push_back({.name = "small",
                                              .id = "plan-small",
                                              .description = "Small",
                                              .requests_per_minute = 60,
                                              .metrics_per_minute = 1000});
    const catalog c(config);
    const auto* small = c.find_plan(config.metrics_forwarder.service_id, "plan-small");
    REQUIRE(small != nullptr);
    CHECK(small->limits.requests_per_minute == 60u);
    CHECK(small->limits.metrics_per_minute == 1000u);
    CHECK(c.find_plan(config.promfetcher.service_id, "plan-small") == nullptr);
    CHECK(c.find_plan(config.metrics_forwarder.service_id, config.promfetcher.plan_id) == nullptr);
    CHECK(c.find_plan("unknown", "plan-small") == nullptr);

    const json::value doc = json::parse(c.json());
    const json::array& bullets = doc.at("services")
                                     .as_array()[1]
                                     .at("plans")
                                     .as_array()[1]
                                     .at("metadata")
                                     .at("bullets")
                                     .as_array();
    CHECK(bullets[0] == "60 requests per minute");
    CHECK(bullets[1] == "1000 metrics per minute");
}
