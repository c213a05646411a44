// libFuzzer target for the cluster's shared binding records: the values of the JetStream KV
// bucket `mgw_<name>_bindings`, which any NATS client with access to the bucket can write.
// The whole input is offered to each decoder (instance, binding, key kind): whatever decodes
// keeps the decoder's promises (its OSB id non-empty, a known origin), survives an
// encode/decode round trip unchanged, and decoding is deterministic. with_parameters on a
// decodable instance gives a record that decodes with the new parameters and nothing else
// changed, and refuses another instance's id; the create and import decisions never crash and
// say `unreadable` (import: `conflict`) for text that does not decode.
// The input is also cut at 0x1E bytes into a stream of watch changes fed, as the NATS shell
// feeds them, to a binding_replica and through apply_to_index to a real binding_index: the
// replica's answers match the change (stale, unknown key, undecodable, put, remove) and its
// view of the bucket follows them; the index never lets a key authorise a binding that is
// removed, unresolvable or a promfetcher one, lists each binding once, authorises the binding
// just put, and answers each app's metrics path as the latest live promfetcher binding sets it.
// An exception escaping ends the run (libFuzzer reports it).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <mgw/broker/binding_index.hpp>
#include <mgw/broker/record_origin.hpp>

#include "cluster/binding_records.hpp"

namespace {

using namespace mgw;
using namespace mgw::cluster;

// The failing line is printed: the checks are many and the stack trace names only the function.
void require(bool condition, int line = __builtin_LINE()) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_binding_records.cpp:%d: check failed\n", line);
        std::abort();
    }
}

bool same(const broker::instance_record& a, const broker::instance_record& b) {
    return a.instance_id == b.instance_id && a.service_id == b.service_id &&
           a.plan_id == b.plan_id && a.organization_guid == b.organization_guid &&
           a.space_guid == b.space_guid && a.context == b.context && a.parameters == b.parameters &&
           a.origin == b.origin;
}

bool same(const broker::binding_record& a, const broker::binding_record& b) {
    return a.binding_id == b.binding_id && a.instance_id == b.instance_id &&
           a.service_id == b.service_id && a.plan_id == b.plan_id && a.app_guid == b.app_guid &&
           a.context == b.context && a.parameters == b.parameters && a.endpoint == b.endpoint &&
           a.key_hash == b.key_hash && a.seq == b.seq && a.origin == b.origin;
}

bool known_origin(broker::record_origin origin) {
    const auto again = broker::record_origin_from_string(broker::to_string(origin));
    return again.has_value() && *again == origin;
}

bool is_promfetcher(const broker::binding_record& binding) {
    return binding.service_id == "svc-promfetcher" ||
           binding.origin == broker::record_origin::promfetcher_import;
}

// A plan this node's catalog does not know resolves to nothing (the key must not work here).
std::optional<push::push_binding> resolve(const broker::binding_record& binding) {
    if (binding.plan_id.starts_with("unknown")) {
        return std::nullopt;
    }
    return push::push_binding{.binding_id = binding.binding_id,
                              .app_guid = binding.app_guid,
                              .plan_id = binding.plan_id,
                              .limits = {},
                              .labels = {}};
}

void check_instance(std::string_view text) {
    const auto instance = decode_instance(text);
    const auto again = decode_instance(text);
    require(instance.has_value() == again.has_value());
    const broker::instance_record other{.instance_id = "fuzz-instance",
                                        .service_id = "svc",
                                        .plan_id = "plan",
                                        .organization_guid = "org",
                                        .space_guid = "space",
                                        .context = {},
                                        .parameters = "{}",
                                        .origin = broker::record_origin::broker};
    require(decide_instance_create(std::nullopt, other) == create_verdict::create);
    require(decide_instance_import({.held = bucket_entry::state::absent, .value = {}}, other) ==
            import_verdict::create);
    require(decide_instance_import({.held = bucket_entry::state::deleted, .value = {}}, other) ==
            import_verdict::deleted);
    const bucket_entry live{.held = bucket_entry::state::live, .value = std::string(text)};
    if (!instance) {
        require(decide_instance_create(text, other) == create_verdict::unreadable);
        require(decide_instance_import(live, other) == import_verdict::conflict);
        require(!with_parameters(text, "fuzz-instance", "{}").has_value());
        return;
    }
    require(same(*instance, *again));
    require(!instance->instance_id.empty() && known_origin(instance->origin));
    const std::string encoded = encode_instance(*instance);
    const auto round_trip = decode_instance(encoded);
    require(round_trip.has_value() && same(*round_trip, *instance));
    require(encode_instance(*round_trip) == encoded);
    require(!decode_binding(encoded).has_value());
    require(decide_instance_create(text, *instance) == create_verdict::identical);
    require(decide_instance_create(text, other) != create_verdict::unreadable);
    require(decide_instance_import(live, *instance) == import_verdict::present);

    // New parameters taken from the record itself (valid UTF-8: the decoder checked it).
    for (const std::string& parameters :
         {std::string("{\"fuzz\":true}"), instance->space_guid, instance->parameters}) {
        const auto changed = with_parameters(text, instance->instance_id, parameters);
        require(changed.has_value());
        const auto decoded = decode_instance(*changed);
        require(decoded.has_value() && decoded->parameters == parameters);
        auto expected = *instance;
        expected.parameters = parameters;
        require(same(*decoded, expected));
    }
    require(!with_parameters(text, instance->instance_id + "x", "{}").has_value());
}

void check_binding(std::string_view text) {
    const auto binding = decode_binding(text);
    const auto again = decode_binding(text);
    require(binding.has_value() == again.has_value());
    const broker::binding_record other{.binding_id = "fuzz-binding",
                                       .instance_id = "fuzz-instance",
                                       .service_id = "svc",
                                       .plan_id = "plan",
                                       .app_guid = "app",
                                       .context = {},
                                       .parameters = "{}",
                                       .endpoint = "",
                                       .key_hash = "",
                                       .seq = 0,
                                       .origin = broker::record_origin::broker};
    require(decide_binding_create(std::nullopt, other) == create_verdict::create);
    const bucket_entry live{.held = bucket_entry::state::live, .value = std::string(text)};
    if (!binding) {
        require(decide_binding_create(text, other) == create_verdict::unreadable);
        require(decide_binding_import(live, other) == import_verdict::conflict);
        return;
    }
    require(same(*binding, *again));
    require(!binding->binding_id.empty() && known_origin(binding->origin));
    require(binding->seq == 0);  // node-local, never stored
    const std::string encoded = encode_binding(*binding);
    const auto round_trip = decode_binding(encoded);
    require(round_trip.has_value() && same(*round_trip, *binding));
    require(encode_binding(*round_trip) == encoded);
    require(!decode_instance(encoded).has_value());
    require(decide_binding_create(text, *binding) == create_verdict::identical);
    require(decide_binding_create(text, other) != create_verdict::unreadable);
    require(decide_binding_import(live, *binding) == import_verdict::present);
    // The same binding with another key is another key: the bucket's stays.
    auto rotated = *binding;
    rotated.key_hash += "0";
    require(decide_binding_create(text, rotated) == create_verdict::identical);
    require(decide_binding_import(live, rotated) == import_verdict::conflict);
}

void check_key(std::string_view text) {
    const auto kind = kind_of_key(text);
    require(kind == kind_of_key(text));
    if (kind) {
        require(text.size() == 35 && (text.starts_with("si.") || text.starts_with("sb.")));
        require((*kind == key_kind::instance) == text.starts_with("si."));
        for (const char c : text.substr(3)) {
            require((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        }
    }
    require(kind_of_key(instance_key(text)) == key_kind::instance);
    require(kind_of_key(binding_key(text)) == key_kind::binding);
    require(instance_key(text).substr(3) == binding_key(text).substr(3));
}

std::vector<std::string_view> split(std::string_view input, char separator) {
    std::vector<std::string_view> parts;
    while (true) {
        const auto at = input.find(separator);
        parts.push_back(input.substr(0, at));
        if (at == std::string_view::npos) {
            return parts;
        }
        input.remove_prefix(at + 1);
    }
}

// What the index should hold, kept beside it from the actions alone.
struct index_model {
    std::map<std::string, std::string> key_by_binding;  // resolved forwarder bindings
    struct path_entry {
        std::string app_guid;
        std::int64_t seq;
        std::string path;
    };
    std::map<std::string, path_entry> path_by_binding;              // promfetcher bindings
    std::set<std::string> apps;                                     // every app a binding named
    std::map<std::string, std::set<std::string>> bindings_by_hash;  // ever, to spot sharing

    std::optional<std::string> expected_path(const std::string& app) const {
        const path_entry* latest = nullptr;
        for (const auto& [id, entry] : path_by_binding) {
            if (entry.app_guid == app && (latest == nullptr || entry.seq > latest->seq)) {
                latest = &entry;
            }
        }
        if (latest == nullptr || latest->path.empty()) {
            return std::nullopt;
        }
        return latest->path;
    }
};

void check_index(const broker::binding_index& index, const index_model& model,
                 const std::optional<std::string>& just_put) {
    const auto listed = index.push_bindings();
    require(listed.size() == index.key_count());
    std::set<std::string> ids;
    for (const auto& binding : listed) {
        require(ids.insert(binding.binding_id).second);
        // Never a key for a binding that is gone, unresolvable or a promfetcher one.
        require(model.key_by_binding.contains(binding.binding_id));
    }
    for (const auto& [id, hash] : model.key_by_binding) {
        // A key hash no other binding ever carried keeps working until its binding changes.
        const bool shared = model.bindings_by_hash.at(hash).size() > 1;
        if (!shared || (just_put && *just_put == id)) {
            require(ids.contains(id));
        }
    }
    for (const auto& app : model.apps) {
        require(index.custom_metric_path(app) == model.expected_path(app));
    }
    require(index.metrics_path_bindings() == model.path_by_binding.size());
}

void check_replica(std::string_view input) {
    binding_replica replica;
    broker::binding_index index;
    index_model model;
    std::map<std::string, std::uint64_t> last_revision;
    std::uint64_t counter = 0;
    for (std::string_view chunk : split(input, '\x1e')) {
        if (chunk.size() < 2) {
            continue;
        }
        const auto control = static_cast<unsigned char>(chunk[0]);
        const auto timing = static_cast<unsigned char>(chunk[1]);
        const std::string_view value = chunk.substr(2);
        kv_change change;
        change.operation = (control & 1) != 0 ? kv_change::op::remove : kv_change::op::put;
        change.value = std::string(value);
        // Mostly the key the record belongs under, sometimes another one or raw text.
        const auto instance = decode_instance(value);
        const auto binding = decode_binding(value);
        switch ((control >> 1) & 3) {
            case 0:
                change.key = instance  ? instance_key(instance->instance_id)
                             : binding ? binding_key(binding->binding_id)
                                       : binding_key(value);
                break;
            case 1:
                change.key = instance_key(value);
                break;
            case 2:
                change.key = binding_key(binding ? binding->binding_id : value);
                break;
            default:
                change.key = std::string(value.substr(0, value.find('\n')));
                break;
        }
        // Accepted revisions are unique and growing, as a stream's sequence; a replayed one is
        // at most the last one the key saw.
        if (const auto seen = last_revision.find(change.key);
            (timing & 1) != 0 && seen != last_revision.end()) {
            change.revision = seen->second - std::min<std::uint64_t>(seen->second, timing >> 1);
        } else {
            change.revision = ++counter;
        }

        const bucket_entry before = replica.entry(change.key);
        const std::size_t held_before = replica.ids_by_key().size();
        const replica_action action = replica.apply(change);
        const bucket_entry after = replica.entry(change.key);
        const auto kind = kind_of_key(change.key);

        if (const auto* ignored = std::get_if<ignore_change>(&action)) {
            switch (ignored->why) {
                case ignore_change::reason::unknown_key:
                    require(!kind.has_value());
                    break;
                case ignore_change::reason::stale:
                    require(kind.has_value() && last_revision.contains(change.key) &&
                            change.revision <= last_revision[change.key]);
                    break;
                case ignore_change::reason::undecodable:
                    require(kind.has_value() && change.operation == kv_change::op::put);
                    break;
                case ignore_change::reason::unknown_delete:
                    require(kind.has_value() && change.operation == kv_change::op::remove &&
                            before.held != bucket_entry::state::live);
                    last_revision[change.key] = change.revision;
                    break;
            }
            if (ignored->why != ignore_change::reason::unknown_delete) {
                require(after.held == before.held && after.value == before.value);
                require(replica.ids_by_key().size() == held_before);
            } else {
                require(after.held == bucket_entry::state::deleted);
            }
        } else {
            require(kind.has_value());
            require(!last_revision.contains(change.key) ||
                    change.revision > last_revision[change.key]);
            last_revision[change.key] = change.revision;
        }
        if (const auto* put = std::get_if<put_instance>(&action)) {
            require(change.operation == kv_change::op::put && *kind == key_kind::instance);
            require(instance_key(put->instance.instance_id) == change.key);
            require(after.held == bucket_entry::state::live && after.value == change.value);
        }
        if (const auto* put = std::get_if<put_binding>(&action)) {
            require(change.operation == kv_change::op::put && *kind == key_kind::binding);
            require(binding_key(put->binding.binding_id) == change.key);
            require(put->binding.seq == static_cast<std::int64_t>(change.revision));
            require(after.held == bucket_entry::state::live && after.value == change.value);
        }
        if (const auto* removed = std::get_if<remove_instance>(&action)) {
            require(change.operation == kv_change::op::remove && *kind == key_kind::instance);
            require(before.held == bucket_entry::state::live);
            require(instance_key(removed->instance_id) == change.key);
            require(after.held == bucket_entry::state::deleted);
        }
        if (const auto* removed = std::get_if<remove_binding>(&action)) {
            require(change.operation == kv_change::op::remove && *kind == key_kind::binding);
            require(before.held == bucket_entry::state::live);
            require(binding_key(removed->binding_id) == change.key);
            require(after.held == bucket_entry::state::deleted);
        }
        std::size_t instances = 0;
        for (const auto& [key, id] : replica.ids_by_key()) {
            require(replica.entry(key).held == bucket_entry::state::live);
            instances += kind_of_key(key) == key_kind::instance ? 1 : 0;
        }
        require(replica.live_instances() == instances);
        require(replica.live_bindings() == replica.ids_by_key().size() - instances);

        // The index follows the action; the model says what it must then hold.
        const bool changed = apply_to_index(action, index, is_promfetcher, resolve);
        require(changed == (std::holds_alternative<put_binding>(action) ||
                            std::holds_alternative<remove_binding>(action)));
        std::optional<std::string> just_put;
        if (const auto* removed = std::get_if<remove_binding>(&action)) {
            model.key_by_binding.erase(removed->binding_id);
            model.path_by_binding.erase(removed->binding_id);
        }
        if (const auto* put = std::get_if<put_binding>(&action)) {
            const broker::binding_record& b = put->binding;
            model.key_by_binding.erase(b.binding_id);
            model.path_by_binding.erase(b.binding_id);
            model.apps.insert(b.app_guid);
            if (is_promfetcher(b)) {
                model.path_by_binding[b.binding_id] = {b.app_guid, b.seq, b.endpoint};
            } else if (resolve(b) && !b.key_hash.empty()) {
                model.key_by_binding[b.binding_id] = b.key_hash;
                model.bindings_by_hash[b.key_hash].insert(b.binding_id);
                just_put = b.binding_id;
            }
        }
        check_index(index, model, just_put);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_instance(input);
    check_binding(input);
    check_key(input);
    check_replica(input);
    return 0;
}
