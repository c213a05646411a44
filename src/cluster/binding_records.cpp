// Shared broker bindings, the pure parts: names, the stored JSON (every field checked for its
// type, so a record of another version or a stray writer gives nullopt, never an exception),
// the create decisions and the replica fed by the bucket's watch.
#include "binding_records.hpp"

#include <array>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>

#include <mgw/broker/record_origin.hpp>

namespace mgw::cluster {

namespace json = boost::json;

namespace {

constexpr std::string_view instance_prefix = "si.";
constexpr std::string_view binding_prefix = "sb.";
constexpr std::size_t hash_hex_digits = 32;

json::string_view js(std::string_view s) {
    return {s.data(), s.size()};
}

std::optional<json::object> parse_record(std::string_view text, std::string_view kind) {
    boost::system::error_code ec;
    json::value value = json::parse(js(text), ec);
    if (ec || !value.is_object()) {
        return std::nullopt;
    }
    json::object& o = value.as_object();
    const json::value* v = o.if_contains("v");
    const json::value* k = o.if_contains("kind");
    if (v == nullptr || k == nullptr || !k->is_string() || k->as_string() != js(kind)) {
        return std::nullopt;
    }
    const bool version_ok = (v->is_uint64() && v->as_uint64() == binding_record_version) ||
                            (v->is_int64() && v->as_int64() >= 0 &&
                             static_cast<std::uint64_t>(v->as_int64()) == binding_record_version);
    if (!version_ok) {
        return std::nullopt;
    }
    return std::move(o);
}

bool get_string(const json::object& o, std::string_view key, std::string& out) {
    const json::value* v = o.if_contains(js(key));
    if (v == nullptr || !v->is_string()) {
        return false;
    }
    out.assign(v->as_string().data(), v->as_string().size());
    return true;
}

bool get_context(const json::object& o, broker::context_fields& out) {
    const json::value* v = o.if_contains("context");
    if (v == nullptr || !v->is_object()) {
        return false;
    }
    for (const auto& [name, field] : v->as_object()) {
        if (!field.is_string()) {
            return false;
        }
        out.emplace(std::string(name.data(), name.size()),
                    std::string(field.as_string().data(), field.as_string().size()));
    }
    return true;
}

json::object context_json(const broker::context_fields& context) {
    json::object o;
    for (const auto& [name, value] : context) {
        o[js(name)] = js(value);
    }
    return o;
}

bool has_prefixed_hash(std::string_view key, std::string_view prefix) {
    if (key.size() != prefix.size() + hash_hex_digits || !key.starts_with(prefix)) {
        return false;
    }
    for (const char c : key.substr(prefix.size())) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string bindings_bucket(std::string_view cluster_name) {
    std::string name = "mgw_";
    name += cluster_name;
    name += "_bindings";
    return name;
}

std::string osb_id_hash(std::string_view osb_id) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    // SHA-256 of a short in-memory string cannot fail short of memory exhaustion; the digest
    // is zero then, which still names one key consistently.
    EVP_Digest(osb_id.data(), osb_id.size(), digest.data(), &length, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(hash_hex_digits);
    for (std::size_t i = 0; i < hash_hex_digits / 2; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

std::string instance_key(std::string_view instance_id) {
    return std::string(instance_prefix) + osb_id_hash(instance_id);
}

std::string binding_key(std::string_view binding_id) {
    return std::string(binding_prefix) + osb_id_hash(binding_id);
}

std::optional<key_kind> kind_of_key(std::string_view key) {
    if (has_prefixed_hash(key, instance_prefix)) {
        return key_kind::instance;
    }
    if (has_prefixed_hash(key, binding_prefix)) {
        return key_kind::binding;
    }
    return std::nullopt;
}

namespace {

// A record's string fields, by JSON name; the first is its OSB id (never empty). Besides these,
// each record holds "context" (an object of strings) and "origin" (record_origin's name).
template <typename Record>
struct string_field {
    std::string_view name;
    std::string Record::*member;
};

constexpr std::array<string_field<broker::instance_record>, 6> instance_fields{{
    {"instance_id", &broker::instance_record::instance_id},
    {"service_id", &broker::instance_record::service_id},
    {"plan_id", &broker::instance_record::plan_id},
    {"organization_guid", &broker::instance_record::organization_guid},
    {"space_guid", &broker::instance_record::space_guid},
    {"parameters", &broker::instance_record::parameters},
}};

// `seq` is node-local and not stored.
constexpr std::array<string_field<broker::binding_record>, 8> binding_fields{{
    {"binding_id", &broker::binding_record::binding_id},
    {"instance_id", &broker::binding_record::instance_id},
    {"service_id", &broker::binding_record::service_id},
    {"plan_id", &broker::binding_record::plan_id},
    {"app_guid", &broker::binding_record::app_guid},
    {"parameters", &broker::binding_record::parameters},
    {"endpoint", &broker::binding_record::endpoint},
    {"key_hash", &broker::binding_record::key_hash},
}};

template <typename Record, std::size_t N>
std::string encode_record(const Record& record, std::string_view kind,
                          const std::array<string_field<Record>, N>& fields) {
    json::object o;
    o["v"] = binding_record_version;
    o["kind"] = js(kind);
    for (const auto& field : fields) {
        o[js(field.name)] = js(record.*field.member);
    }
    o["context"] = context_json(record.context);
    o["origin"] = js(broker::to_string(record.origin));
    return json::serialize(o);
}

template <typename Record, std::size_t N>
std::optional<Record> decode_record(std::string_view text, std::string_view kind,
                                    const std::array<string_field<Record>, N>& fields) {
    const auto o = parse_record(text, kind);
    if (!o) {
        return std::nullopt;
    }
    Record r;
    for (const auto& field : fields) {
        if (!get_string(*o, field.name, r.*field.member)) {
            return std::nullopt;
        }
    }
    std::string origin;
    if ((r.*fields.front().member).empty() || !get_context(*o, r.context) ||
        !get_string(*o, "origin", origin)) {
        return std::nullopt;
    }
    const auto known = broker::record_origin_from_string(origin);
    if (!known) {
        return std::nullopt;
    }
    r.origin = *known;
    return r;
}

}  // namespace

std::string encode_instance(const broker::instance_record& instance) {
    return encode_record(instance, "instance", instance_fields);
}

std::string encode_binding(const broker::binding_record& binding) {
    return encode_record(binding, "binding", binding_fields);
}

std::optional<broker::instance_record> decode_instance(std::string_view text) {
    return decode_record(text, "instance", instance_fields);
}

std::optional<broker::binding_record> decode_binding(std::string_view text) {
    return decode_record(text, "binding", binding_fields);
}

std::optional<std::string> with_parameters(std::string_view stored, std::string_view instance_id,
                                           std::string_view parameters) {
    auto instance = decode_instance(stored);
    if (!instance || instance->instance_id != instance_id) {
        return std::nullopt;
    }
    instance->parameters = std::string(parameters);
    return encode_instance(*instance);
}

create_verdict decide_instance_create(std::optional<std::string_view> stored,
                                      const broker::instance_record& wanted) {
    if (!stored) {
        return create_verdict::create;
    }
    const auto old = decode_instance(*stored);
    if (!old) {
        return create_verdict::unreadable;
    }
    // The attributes the single-node broker compares (OSB: "identical" provision → 200).
    const bool identical = old->service_id == wanted.service_id && old->plan_id == wanted.plan_id &&
                           old->organization_guid == wanted.organization_guid &&
                           old->space_guid == wanted.space_guid &&
                           old->parameters == wanted.parameters;
    return identical ? create_verdict::identical : create_verdict::conflict;
}

create_verdict decide_binding_create(std::optional<std::string_view> stored,
                                     const broker::binding_record& wanted) {
    if (!stored) {
        return create_verdict::create;
    }
    const auto old = decode_binding(*stored);
    if (!old) {
        return create_verdict::unreadable;
    }
    // As the single-node broker: an imported Promfetcher binding knows no instance, so any
    // instance may repeat it; the key hash is not an attribute (a repeated bind rotates it).
    const bool same_instance = old->instance_id == wanted.instance_id ||
                               old->origin == broker::record_origin::promfetcher_import;
    const bool identical = same_instance && old->service_id == wanted.service_id &&
                           old->plan_id == wanted.plan_id && old->app_guid == wanted.app_guid &&
                           old->parameters == wanted.parameters;
    return identical ? create_verdict::identical : create_verdict::conflict;
}

namespace {

import_verdict import_from(const bucket_entry& bucket, create_verdict live) {
    switch (bucket.held) {
        case bucket_entry::state::absent:
            return import_verdict::create;
        case bucket_entry::state::deleted:
            return import_verdict::deleted;
        case bucket_entry::state::live:
            break;
    }
    return live == create_verdict::identical ? import_verdict::present : import_verdict::conflict;
}

}  // namespace

import_verdict decide_instance_import(const bucket_entry& bucket,
                                      const broker::instance_record& local) {
    return import_from(bucket, bucket.held == bucket_entry::state::live
                                   ? decide_instance_create(bucket.value, local)
                                   : create_verdict::create);
}

import_verdict decide_binding_import(const bucket_entry& bucket,
                                     const broker::binding_record& local) {
    if (bucket.held != bucket_entry::state::live) {
        return import_from(bucket, create_verdict::create);
    }
    // The same binding with another key hash is another key: the bucket's is the one that
    // works everywhere, so a local key that differs is a conflict (it stops working here).
    const auto stored = decode_binding(bucket.value);
    const create_verdict same = decide_binding_create(bucket.value, local);
    if (same == create_verdict::identical && stored && stored->key_hash != local.key_hash) {
        return import_verdict::conflict;
    }
    return import_from(bucket, same);
}

bucket_entry binding_replica::entry(std::string_view key) const {
    if (const auto live = values_.find(key); live != values_.end()) {
        return {.held = bucket_entry::state::live, .value = live->second};
    }
    if (revisions_.contains(key)) {
        return {.held = bucket_entry::state::deleted, .value = {}};
    }
    return {.held = bucket_entry::state::absent, .value = {}};
}

replica_action binding_replica::apply(const kv_change& change) {
    const auto kind = kind_of_key(change.key);
    if (!kind) {
        return ignore_change{ignore_change::reason::unknown_key};
    }
    if (auto seen = revisions_.find(change.key);
        seen != revisions_.end() && change.revision <= seen->second) {
        return ignore_change{ignore_change::reason::stale};
    }
    if (change.operation == kv_change::op::remove) {
        revisions_[change.key] = change.revision;
        const auto held = ids_.find(change.key);
        if (held == ids_.end()) {
            return ignore_change{ignore_change::reason::unknown_delete};
        }
        std::string id = std::move(held->second);
        ids_.erase(held);
        values_.erase(change.key);
        if (*kind == key_kind::instance) {
            --live_instances_;
        }
        if (*kind == key_kind::instance) {
            return remove_instance{std::move(id)};
        }
        return remove_binding{std::move(id)};
    }
    if (*kind == key_kind::instance) {
        auto instance = decode_instance(change.value);
        // A record stored under another id's key is as bad as an unreadable one.
        if (!instance || instance_key(instance->instance_id) != change.key) {
            return ignore_change{ignore_change::reason::undecodable};
        }
        revisions_[change.key] = change.revision;
        if (ids_.insert_or_assign(change.key, instance->instance_id).second) {
            ++live_instances_;
        }
        values_[change.key] = change.value;
        return put_instance{std::move(*instance)};
    }
    auto binding = decode_binding(change.value);
    if (!binding || binding_key(binding->binding_id) != change.key) {
        return ignore_change{ignore_change::reason::undecodable};
    }
    revisions_[change.key] = change.revision;
    ids_[change.key] = binding->binding_id;
    values_[change.key] = change.value;
    // The bucket's revision is a cluster-wide creation order: the latest promfetcher binding of
    // an app decides its metrics path on every node alike.
    binding->seq = static_cast<std::int64_t>(change.revision);
    return put_binding{std::move(*binding)};
}

bool apply_to_index(const replica_action& action, broker::binding_index& index,
                    const promfetcher_test& is_promfetcher, const push_entry_resolver& resolve) {
    if (const auto* removed = std::get_if<remove_binding>(&action)) {
        index.remove(removed->binding_id);
        return true;
    }
    const auto* put = std::get_if<put_binding>(&action);
    if (put == nullptr) {
        return false;
    }
    const broker::binding_record& binding = put->binding;
    if (is_promfetcher(binding)) {
        index.add_metrics_path(binding.binding_id, binding.app_guid, binding.seq, binding.endpoint);
        return true;
    }
    auto entry = resolve(binding);
    if (!entry || binding.key_hash.empty()) {
        // Its plan is unknown here: refusing the key is safer than letting it push unlimited;
        // an earlier key of the same binding must not outlive the change either.
        index.remove(binding.binding_id);
        return true;
    }
    index.add_key(binding.key_hash, std::move(*entry));
    return true;
}

}  // namespace mgw::cluster
