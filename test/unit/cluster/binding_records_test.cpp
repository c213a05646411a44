// Unit tests: shared broker bindings without a socket — the bucket's names, the stored JSON, the
// provision/bind decisions against what the bucket holds, and the watch replica driving the
// push path's binding index (a key bound elsewhere authorises, an unbind elsewhere revokes).
#include "cluster/binding_records.hpp"

#include <catch2/catch.hpp>

#include <mgw/broker/binding_index.hpp>

#include "../support/sha256_hex.hpp"

using namespace mgw;
using namespace mgw::cluster;

namespace {

broker::binding_record forwarder_binding() {
    return {.binding_id = "bind-1",
            .instance_id = "inst-1",
            .service_id = "svc-forwarder",
            .plan_id = "plan-small",
            .app_guid = "app-1",
            .context = {{"organization_guid", "org-1"}, {"space_name", "dev"}},
            .parameters = R"({"a":1})",
            .endpoint = "",
            .key_hash = std::string(64, 'a'),
            .seq = 7,
            .origin = broker::record_origin::broker};
}

broker::instance_record instance() {
    return {.instance_id = "inst-1",
            .service_id = "svc-forwarder",
            .plan_id = "plan-small",
            .organization_guid = "org-1",
            .space_guid = "space-1",
            .context = {{"platform", "cloudfoundry"}},
            .parameters = "{}",
            .origin = broker::record_origin::adopted};
}

kv_change put(std::string key, std::uint64_t revision, std::string value) {
    return {.operation = kv_change::op::put,
            .key = std::move(key),
            .revision = revision,
            .value = std::move(value)};
}

kv_change removal(std::string key, std::uint64_t revision) {
    return {.operation = kv_change::op::remove,
            .key = std::move(key),
            .revision = revision,
            .value = {}};
}

}  // namespace

TEST_CASE("bucket and key names follow cluster.md and are valid KV keys") {
    CHECK(bindings_bucket("mgw") == "mgw_mgw_bindings");
    CHECK(bindings_bucket("prod-1") == "mgw_prod-1_bindings");
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3...
    CHECK(osb_id_hash("abc") == "ba7816bf8f01cfea414140de5dae2223");
    CHECK(instance_key("abc") == "si.ba7816bf8f01cfea414140de5dae2223");
    CHECK(binding_key("abc") == "sb.ba7816bf8f01cfea414140de5dae2223");
    // Free-form OSB ids (spaces, slashes, unicode) still give a valid key.
    const std::string odd = binding_key("a b/c*>\xc3\xa9");
    CHECK(odd.size() == 35);
    CHECK(odd.find_first_not_of("sb.0123456789abcdef") == std::string::npos);
    CHECK(kind_of_key(instance_key("x")) == key_kind::instance);
    CHECK(kind_of_key(binding_key("x")) == key_kind::binding);
    CHECK_FALSE(kind_of_key("sb.short"));
    CHECK_FALSE(kind_of_key("sx." + osb_id_hash("x")));
    CHECK_FALSE(kind_of_key("sb." + std::string(32, 'G')));
    CHECK_FALSE(kind_of_key(""));
}

TEST_CASE("records round-trip and never carry a node-local order") {
    const auto b = forwarder_binding();
    const std::string text = encode_binding(b);
    CHECK(text.find("\"v\":1") != std::string::npos);
    CHECK(text.find("\"seq\"") == std::string::npos);
    const auto back = decode_binding(text);
    REQUIRE(back);
    CHECK(back->binding_id == b.binding_id);
    CHECK(back->instance_id == b.instance_id);
    CHECK(back->service_id == b.service_id);
    CHECK(back->plan_id == b.plan_id);
    CHECK(back->app_guid == b.app_guid);
    CHECK(back->context == b.context);
    CHECK(back->parameters == b.parameters);
    CHECK(back->endpoint == b.endpoint);
    CHECK(back->key_hash == b.key_hash);
    CHECK(back->seq == 0);
    CHECK(back->origin == broker::record_origin::broker);

    const auto i = instance();
    const auto ib = decode_instance(encode_instance(i));
    REQUIRE(ib);
    CHECK(ib->instance_id == i.instance_id);
    CHECK(ib->organization_guid == "org-1");
    CHECK(ib->space_guid == "space-1");
    CHECK(ib->context == i.context);
    CHECK(ib->origin == broker::record_origin::adopted);
}

TEST_CASE("records of another kind, version or shape are refused") {
    const std::string binding_text = encode_binding(forwarder_binding());
    const std::string instance_text = encode_instance(instance());
    CHECK_FALSE(decode_instance(binding_text));
    CHECK_FALSE(decode_binding(instance_text));
    CHECK_FALSE(decode_binding("not json"));
    CHECK_FALSE(decode_binding("[]"));
    auto with = [&](std::string from, std::string to) {
        std::string text = binding_text;
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        text.replace(at, from.size(), to);
        return text;
    };
    CHECK_FALSE(decode_binding(with("\"v\":1", "\"v\":2")));
    CHECK_FALSE(decode_binding(with("\"v\":1", "\"v\":\"1\"")));
    CHECK_FALSE(decode_binding(with("\"origin\":\"broker\"", "\"origin\":\"elsewhere\"")));
    CHECK_FALSE(decode_binding(with("\"binding_id\":\"bind-1\"", "\"binding_id\":\"\"")));
    CHECK_FALSE(decode_binding(with("\"app_guid\":\"app-1\"", "\"app_guid\":5")));
    CHECK_FALSE(decode_binding(with("\"space_name\":\"dev\"", "\"space_name\":1")));
}

TEST_CASE("create decisions: nothing stored creates, the same is 200, different is 409") {
    const auto wanted = forwarder_binding();
    CHECK(decide_binding_create(std::nullopt, wanted) == create_verdict::create);
    const std::string stored = encode_binding(wanted);
    CHECK(decide_binding_create(stored, wanted) == create_verdict::identical);

    auto rotated = wanted;  // a repeated bind gets a new key: not a different binding
    rotated.key_hash = std::string(64, 'b');
    rotated.context["space_name"] = "other";
    CHECK(decide_binding_create(stored, rotated) == create_verdict::identical);

    auto other_app = wanted;
    other_app.app_guid = "app-2";
    CHECK(decide_binding_create(stored, other_app) == create_verdict::conflict);
    auto other_params = wanted;
    other_params.parameters = R"({"a":2})";
    CHECK(decide_binding_create(stored, other_params) == create_verdict::conflict);
    auto other_instance = wanted;
    other_instance.instance_id = "inst-2";
    CHECK(decide_binding_create(stored, other_instance) == create_verdict::conflict);

    // An imported Promfetcher binding knows no instance: any instance may repeat it.
    auto imported = wanted;
    imported.instance_id = "";
    imported.origin = broker::record_origin::promfetcher_import;
    CHECK(decide_binding_create(encode_binding(imported), other_instance) ==
          create_verdict::identical);

    CHECK(decide_binding_create(std::string_view("garbage"), wanted) == create_verdict::unreadable);

    const auto inst = instance();
    CHECK(decide_instance_create(std::nullopt, inst) == create_verdict::create);
    CHECK(decide_instance_create(encode_instance(inst), inst) == create_verdict::identical);
    auto other_plan = inst;
    other_plan.plan_id = "plan-big";
    CHECK(decide_instance_create(encode_instance(inst), other_plan) == create_verdict::conflict);
    auto other_space = inst;
    other_space.space_guid = "space-2";
    CHECK(decide_instance_create(encode_instance(inst), other_space) == create_verdict::conflict);
}

TEST_CASE("the replica turns watched changes into puts and removals, skipping stale ones") {
    binding_replica replica;
    const auto b = forwarder_binding();
    const std::string key = binding_key(b.binding_id);

    const auto first = replica.apply(put(key, 10, encode_binding(b)));
    REQUIRE(std::holds_alternative<put_binding>(first));
    CHECK(std::get<put_binding>(first).binding.binding_id == "bind-1");
    // The bucket's revision orders bindings the same on every node.
    CHECK(std::get<put_binding>(first).binding.seq == 10);
    CHECK(replica.ids_by_key().at(key) == "bind-1");

    // A watch restarted after a reconnect replays the last value: not applied twice.
    const auto replay = replica.apply(put(key, 10, encode_binding(b)));
    REQUIRE(std::holds_alternative<ignore_change>(replay));
    CHECK(std::get<ignore_change>(replay).why == ignore_change::reason::stale);

    // The delete marker carries only the key; the replica knows whose it was.
    const auto gone = replica.apply(removal(key, 11));
    REQUIRE(std::holds_alternative<remove_binding>(gone));
    CHECK(std::get<remove_binding>(gone).binding_id == "bind-1");
    CHECK(replica.ids_by_key().empty());
    // An older put arriving after the delete does not resurrect the binding.
    CHECK(std::holds_alternative<ignore_change>(replica.apply(put(key, 9, encode_binding(b)))));
    // A delete of a key never seen (history starts after it) changes nothing.
    const auto unknown = replica.apply(removal(binding_key("never"), 3));
    REQUIRE(std::holds_alternative<ignore_change>(unknown));
    CHECK(std::get<ignore_change>(unknown).why == ignore_change::reason::unknown_delete);

    // A record under another id's key, or unreadable, is refused and does not advance.
    const auto misplaced = replica.apply(put(binding_key("other"), 12, encode_binding(b)));
    REQUIRE(std::holds_alternative<ignore_change>(misplaced));
    CHECK(std::get<ignore_change>(misplaced).why == ignore_change::reason::undecodable);
    CHECK(std::get<ignore_change>(replica.apply(put("$KV.x", 13, "{}"))).why ==
          ignore_change::reason::unknown_key);

    const auto inst = instance();
    const auto ip = replica.apply(put(instance_key(inst.instance_id), 14, encode_instance(inst)));
    REQUIRE(std::holds_alternative<put_instance>(ip));
    CHECK(std::get<put_instance>(ip).instance.instance_id == "inst-1");
    const auto ir = replica.apply(removal(instance_key(inst.instance_id), 15));
    REQUIRE(std::holds_alternative<remove_instance>(ir));
    CHECK(std::get<remove_instance>(ir).instance_id == "inst-1");
    CHECK(replica.ids_by_key().empty());
}

TEST_CASE("the import of pre-cluster rows creates what is absent and lets the bucket win") {
    binding_replica replica;
    const auto inst = instance();
    const auto b = forwarder_binding();
    const std::string ikey = instance_key(inst.instance_id);
    const std::string bkey = binding_key(b.binding_id);

    // Nothing seen under the keys: create-if-absent.
    CHECK(replica.entry(bkey).held == bucket_entry::state::absent);
    CHECK(decide_instance_import(replica.entry(ikey), inst) == import_verdict::create);
    CHECK(decide_binding_import(replica.entry(bkey), b) == import_verdict::create);
    CHECK(replica.live_instances() == 0);
    CHECK(replica.live_bindings() == 0);

    // The same records already there (a second start, or another node imported them): nothing.
    replica.apply(put(ikey, 1, encode_instance(inst)));
    replica.apply(put(bkey, 2, encode_binding(b)));
    CHECK(replica.entry(bkey).held == bucket_entry::state::live);
    CHECK(replica.entry(bkey).value == encode_binding(b));
    CHECK(replica.live_instances() == 1);
    CHECK(replica.live_bindings() == 1);
    CHECK(decide_instance_import(replica.entry(ikey), inst) == import_verdict::present);
    CHECK(decide_binding_import(replica.entry(bkey), b) == import_verdict::present);

    // Different attributes, or the same binding with another key: the bucket's stays.
    auto other_plan = inst;
    other_plan.plan_id = "plan-big";
    CHECK(decide_instance_import(replica.entry(ikey), other_plan) == import_verdict::conflict);
    auto other_key = b;
    other_key.key_hash = std::string(64, 'c');
    CHECK(decide_binding_import(replica.entry(bkey), other_key) == import_verdict::conflict);
    auto other_app = b;
    other_app.app_guid = "app-9";
    CHECK(decide_binding_import(replica.entry(bkey), other_app) == import_verdict::conflict);
    // Unreadable in the bucket: not overwritten either.
    CHECK(decide_binding_import({.held = bucket_entry::state::live, .value = "garbage"}, b) ==
          import_verdict::conflict);

    // Removed through some node (a delete marker): the local row is not brought back.
    replica.apply(removal(bkey, 3));
    replica.apply(removal(ikey, 4));
    CHECK(replica.entry(bkey).held == bucket_entry::state::deleted);
    CHECK(decide_binding_import(replica.entry(bkey), b) == import_verdict::deleted);
    CHECK(decide_instance_import(replica.entry(ikey), inst) == import_verdict::deleted);
    CHECK(replica.live_instances() == 0);
    CHECK(replica.live_bindings() == 0);
    // A marker whose record the watch never saw counts as deleted too.
    replica.apply(removal(binding_key("gone-before"), 5));
    auto gone = b;
    gone.binding_id = "gone-before";
    CHECK(decide_binding_import(replica.entry(binding_key("gone-before")), gone) ==
          import_verdict::deleted);
}

TEST_CASE("PATCH as a versioned change: only the parameters of that instance change") {
    const auto inst = instance();
    const auto changed = with_parameters(encode_instance(inst), "inst-1", R"({"b":2})");
    REQUIRE(changed);
    const auto decoded = decode_instance(*changed);
    REQUIRE(decoded);
    CHECK(decoded->parameters == R"({"b":2})");
    auto expected = inst;
    expected.parameters = R"({"b":2})";
    CHECK(*changed == encode_instance(expected));
    // Another instance's record, or one that does not decode: refused, never overwritten.
    CHECK_FALSE(with_parameters(encode_instance(inst), "inst-2", "{}"));
    CHECK_FALSE(with_parameters("garbage", "inst-1", "{}"));
    CHECK_FALSE(with_parameters(encode_binding(forwarder_binding()), "inst-1", "{}"));
}

TEST_CASE("applied to the index, a binding made elsewhere authorises and an unbind revokes") {
    broker::binding_index index;
    binding_replica replica;
    const auto is_promfetcher = [](const broker::binding_record& r) {
        return r.service_id == "svc-promfetcher";
    };
    bool plan_known = true;
    const auto resolve =
        [&plan_known](const broker::binding_record& r) -> std::optional<push::push_binding> {
        if (!plan_known) {
            return std::nullopt;
        }
        return push::push_binding{.binding_id = r.binding_id,
                                  .app_guid = r.app_guid,
                                  .plan_id = r.plan_id,
                                  .limits = {},
                                  .labels = {}};
    };
    const auto feed = [&](const kv_change& change) {
        return apply_to_index(replica.apply(change), index, is_promfetcher, resolve);
    };

    // The access key itself never travels: the record holds its SHA-256, as the store does.
    const std::string access_key = "0123abcd-0000-1111-2222-333344445555";
    broker::binding_record b = forwarder_binding();
    b.key_hash = mgw::test::sha256_hex(access_key);
    const std::string key = binding_key(b.binding_id);
    CHECK(feed(put(key, 1, encode_binding(b))));
    CHECK(index.key_count() == 1);
    const auto found = index.find_by_access_key(access_key);
    REQUIRE(found);
    CHECK(found->binding_id == "bind-1");
    CHECK(found->app_guid == "app-1");

    // Key rotation elsewhere: the new hash replaces the old one.
    b.key_hash = std::string(64, 'c');
    CHECK(feed(put(key, 2, encode_binding(b))));
    CHECK(index.key_count() == 1);
    CHECK_FALSE(index.find_by_access_key(access_key));

    // A plan unknown on this node: the binding's key is refused rather than let through.
    plan_known = false;
    b.key_hash = std::string(64, 'd');
    CHECK(feed(put(key, 3, encode_binding(b))));
    CHECK(index.key_count() == 0);
    plan_known = true;
    CHECK(feed(put(key, 4, encode_binding(b))));
    CHECK(index.key_count() == 1);

    b.key_hash = mgw::test::sha256_hex(access_key);
    CHECK(feed(put(key, 5, encode_binding(b))));
    CHECK(index.find_by_access_key(access_key));
    CHECK(feed(removal(key, 6)));
    CHECK(index.key_count() == 0);
    CHECK_FALSE(index.find_by_access_key(access_key));
    CHECK_FALSE(feed(removal(key, 6)));  // stale: nothing to do

    // Promfetcher bindings set their app's path; the latest by bucket revision decides.
    broker::binding_record p1{.binding_id = "pf-1",
                              .instance_id = "inst-9",
                              .service_id = "svc-promfetcher",
                              .plan_id = "pf",
                              .app_guid = "app-9",
                              .context = {},
                              .parameters = "{}",
                              .endpoint = "/one",
                              .key_hash = "",
                              .seq = 0,
                              .origin = broker::record_origin::broker};
    broker::binding_record p2 = p1;
    p2.binding_id = "pf-2";
    p2.endpoint = "/two";
    CHECK(feed(put(binding_key("pf-2"), 21, encode_binding(p2))));
    CHECK(feed(put(binding_key("pf-1"), 20, encode_binding(p1))));
    CHECK(index.custom_metric_path("app-9") == "/two");
    CHECK(feed(removal(binding_key("pf-2"), 22)));
    CHECK(index.custom_metric_path("app-9") == "/one");
    CHECK(index.metrics_path_bindings() == 1);

    // Instance changes leave the index alone.
    CHECK_FALSE(feed(put(instance_key("inst-1"), 30, encode_instance(instance()))));

    // Found by fuzz_binding_records: any client with access can rewrite a record, changing a
    // binding's app or kind; nothing of what the binding was may outlive the change.
    p1.app_guid = "app-8";
    CHECK(feed(put(binding_key("pf-1"), 31, encode_binding(p1))));
    CHECK_FALSE(index.custom_metric_path("app-9"));
    CHECK(index.custom_metric_path("app-8") == "/one");
    b.key_hash = mgw::test::sha256_hex(access_key);
    CHECK(feed(put(key, 32, encode_binding(b))));
    CHECK(index.find_by_access_key(access_key));
    broker::binding_record now_promfetcher = b;
    now_promfetcher.service_id = "svc-promfetcher";
    CHECK(feed(put(key, 33, encode_binding(now_promfetcher))));
    CHECK_FALSE(index.find_by_access_key(access_key));
    CHECK(index.key_count() == 0);
    CHECK(feed(put(key, 34, encode_binding(b))));
    CHECK(index.find_by_access_key(access_key));
    CHECK(index.metrics_path_bindings() == 1);  // pf-1 only
}
