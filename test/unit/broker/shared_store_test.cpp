// Unit tests: the broker with a shared store (cluster mode) whose watch has not caught up, so
// this node's cache lags it — the propagation window the store's answers must cover. The store
// is an in-memory shared_records that answers at once and never feeds the cache: what a test
// puts there was "made through another node". Covers PATCH as a change in the store, unbind and
// deprovision of records the cache does not hold (the store is asked before 410), and the count
// limits against the store's records.
#include <map>
#include <string>

#include "broker_fixture.hpp"

using namespace broker_test;
using mgw::broker::binding_record;
using mgw::broker::instance_record;
using mgw::broker::shared_records;

namespace {

class memory_store final : public shared_records {
  public:
    std::map<std::string, instance_record> instances;
    std::map<std::string, binding_record> bindings;
    bool answering = true;  // false: every call is `unavailable` (503)
    int updates = 0;

    void create_instance(const instance_record& instance, completion done) override {
        if (!answer(done)) {
            return;
        }
        const auto [at, fresh] = instances.emplace(instance.instance_id, instance);
        done({.outcome = fresh                                    ? result::status::created
                         : at->second.plan_id == instance.plan_id ? result::status::identical
                                                                  : result::status::conflict,
              .revision = 1});
    }
    void create_binding(const binding_record& binding, completion done) override {
        if (!answer(done)) {
            return;
        }
        const auto [at, fresh] = bindings.emplace(binding.binding_id, binding);
        done({.outcome = fresh                                     ? result::status::created
                         : at->second.app_guid == binding.app_guid ? result::status::identical
                                                                   : result::status::conflict,
              .revision = 1});
    }
    void replace_binding(const binding_record& binding, std::uint64_t, completion done) override {
        if (answer(done)) {
            bindings[binding.binding_id] = binding;
            done({.outcome = result::status::created, .revision = 2});
        }
    }
    void update_instance_parameters(std::string_view instance_id, std::string parameters,
                                    completion done) override {
        if (!answer(done)) {
            return;
        }
        const auto found = instances.find(std::string(instance_id));
        if (found == instances.end()) {
            done({.outcome = result::status::missing, .revision = 0});
            return;
        }
        found->second.parameters = std::move(parameters);
        ++updates;
        done({.outcome = result::status::created, .revision = 3});
    }
    void find_instance(std::string_view instance_id, found<instance_record> done) override {
        if (!answering) {
            done({.outcome = result::status::unavailable, .revision = 0}, std::nullopt);
            return;
        }
        const auto at = instances.find(std::string(instance_id));
        if (at == instances.end()) {
            done({.outcome = result::status::missing, .revision = 0}, std::nullopt);
            return;
        }
        done({.outcome = result::status::created, .revision = 1}, at->second);
    }
    void find_binding(std::string_view binding_id, found<binding_record> done) override {
        if (!answering) {
            done({.outcome = result::status::unavailable, .revision = 0}, std::nullopt);
            return;
        }
        const auto at = bindings.find(std::string(binding_id));
        if (at == bindings.end()) {
            done({.outcome = result::status::missing, .revision = 0}, std::nullopt);
            return;
        }
        done({.outcome = result::status::created, .revision = 1}, at->second);
    }
    counts live_counts() const override {
        return {.instances = instances.size(), .bindings = bindings.size()};
    }
    void remove_instance(std::string_view instance_id, completion done) override {
        if (answer(done)) {
            instances.erase(std::string(instance_id));
            done({.outcome = result::status::created, .revision = 4});
        }
    }
    void remove_binding(std::string_view binding_id, completion done) override {
        if (answer(done)) {
            bindings.erase(std::string(binding_id));
            done({.outcome = result::status::created, .revision = 5});
        }
    }

  private:
    bool answer(const completion& done) const {
        if (!answering) {
            done({.outcome = result::status::unavailable, .revision = 0});
        }
        return answering;
    }
};

instance_record elsewhere_instance(const char* id) {
    return {.instance_id = id,
            .service_id = forwarder_service,
            .plan_id = small_plan,
            .organization_guid = "org-guid",
            .space_guid = "space-guid",
            .context = {},
            .parameters = "{}",
            .origin = mgw::broker::record_origin::broker};
}

binding_record elsewhere_binding(const char* id, const char* instance) {
    return {.binding_id = id,
            .instance_id = instance,
            .service_id = forwarder_service,
            .plan_id = small_plan,
            .app_guid = "app-1",
            .context = {},
            .parameters = "{}",
            .endpoint = "",
            .key_hash = std::string(64, 'a'),
            .seq = 0,
            .origin = mgw::broker::record_origin::broker};
}

const std::string ids = std::string("?service_id=") + forwarder_service + "&plan_id=" + small_plan;

}  // namespace

TEST_CASE("shared store: unbind and deprovision of records made elsewhere ask the store first") {
    broker_fixture broker;
    memory_store store;
    broker.service().set_shared_records(&store);
    store.instances.emplace("inst-1", elsewhere_instance("inst-1"));
    store.bindings.emplace("bind-1", elsewhere_binding("bind-1", "inst-1"));

    // The cache has neither; the store has both: not 410.
    CHECK(broker
              .call(verb::delete_, instances + "inst-1/service_bindings/bind-1" +
                                       "?service_id=other&plan_id=" + small_plan)
              .status == 400);
    CHECK(broker.call(verb::delete_, instances + "inst-2/service_bindings/bind-1" + ids).status ==
          410);
    CHECK(store.bindings.contains("bind-1"));
    CHECK(broker.call(verb::delete_, instances + "inst-1/service_bindings/bind-1" + ids).status ==
          200);
    CHECK_FALSE(store.bindings.contains("bind-1"));
    // Gone from the store too: now 410.
    CHECK(broker.call(verb::delete_, instances + "inst-1/service_bindings/bind-1" + ids).status ==
          410);

    // The store not answering is not "gone": 503 (the Cloud Controller retries).
    store.answering = false;
    CHECK(broker.call(verb::delete_, instances + "inst-1" + ids).status == 503);
    store.answering = true;
    CHECK(broker.call(verb::delete_, instances + "inst-1" + ids).status == 200);
    CHECK(store.instances.empty());
    CHECK(broker.call(verb::delete_, instances + "inst-1" + ids).status == 410);
}

TEST_CASE("shared store: PATCH changes the store's instance, wherever it was provisioned") {
    broker_fixture broker;
    memory_store store;
    broker.service().set_shared_records(&store);
    store.instances.emplace("inst-1", elsewhere_instance("inst-1"));

    const std::string patch = std::string(R"({"service_id":")") + forwarder_service +
                              R"(","parameters":{"note":"shared"}})";
    CHECK(broker.call(verb::patch, instances + "inst-1", patch).status == 200);
    CHECK(store.instances.at("inst-1").parameters == R"({"note":"shared"})");
    CHECK(store.updates == 1);
    // This node's cache follows at once (the other nodes through their watch).
    const auto fetched = broker.call(verb::get, instances + "inst-1");
    REQUIRE(fetched.status == 200);
    CHECK(fetched.json_body().at("parameters").at("note") == "shared");
    // The same again changes nothing in the store.
    CHECK(broker.call(verb::patch, instances + "inst-1", patch).status == 200);
    CHECK(store.updates == 1);

    // The checks are the single node's, against the store's record.
    const std::string other_plan =
        std::string(R"({"service_id":")") + forwarder_service + R"(","plan_id":"plan-big"})";
    CHECK(broker.call(verb::patch, instances + "inst-1", other_plan).status == 422);
    CHECK(
        broker.call(verb::patch, instances + "inst-1", R"({"service_id":"other","parameters":{}})")
            .status == 400);
    CHECK(broker.call(verb::patch, instances + "missing", patch).status == 404);
    store.answering = false;
    CHECK(broker.call(verb::patch, instances + "inst-1", patch).status == 503);
}

TEST_CASE("shared store: the count limits count the store's records") {
    auto config = test_config();
    config.max_instances = 1;
    config.max_bindings = 1;
    broker_fixture broker(config);
    memory_store store;
    broker.service().set_shared_records(&store);
    // One instance and one binding made through another node: both limits reached here.
    store.instances.emplace("inst-1", elsewhere_instance("inst-1"));
    store.bindings.emplace("bind-1", elsewhere_binding("bind-1", "inst-1"));

    const auto refused =
        broker.call(verb::put, instances + "inst-2", instance_body(forwarder_service, small_plan));
    CHECK(refused.status == 422);
    CHECK(refused.json_body().at("error") == "InstanceLimitReached");
    const auto unbound = broker.call(verb::put, instances + "inst-1/service_bindings/bind-2",
                                     bind_body(forwarder_service, small_plan, "app-2"));
    CHECK(unbound.status == 422);
    CHECK(unbound.json_body().at("error") == "BindingLimitReached");
    CHECK(store.bindings.size() == 1);
    // A bind of an instance neither the cache nor the store holds adopts one: over the limit.
    store.bindings.clear();
    const auto adopting = broker.call(verb::put, instances + "inst-9/service_bindings/bind-9",
                                      bind_body(forwarder_service, small_plan, "app-9"));
    CHECK(adopting.status == 422);
    CHECK(adopting.json_body().at("error") == "InstanceLimitReached");
    // One the store holds (provisioned elsewhere, not yet in this cache) is no new instance.
    CHECK(broker
              .call(verb::put, instances + "inst-1/service_bindings/bind-1",
                    bind_body(forwarder_service, small_plan, "app-1"))
              .status == 201);
    CHECK(store.instances.size() == 1);

    // Room again: the same requests go through.
    store.bindings.clear();
    store.instances.clear();
    CHECK(broker.call(verb::put, instances + "inst-2", instance_body(forwarder_service, small_plan))
              .status == 201);
    CHECK(broker
              .call(verb::put, instances + "inst-2/service_bindings/bind-2",
                    bind_body(forwarder_service, small_plan, "app-2"))
              .status == 201);
    // At the limit, a repeat of what this node holds is not a new record: 200, not 422.
    CHECK(broker.call(verb::put, instances + "inst-2", instance_body(forwarder_service, small_plan))
              .status == 200);
}
