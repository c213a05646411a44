// The SQLite binding store: round trips, reopening the same file, the exclusive lock, schema
// versions, and deletes that cascade from instances to their bindings.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <mgw/broker/binding_store.hpp>

#include "broker/access_key.hpp"

using namespace mgw::broker;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "mgw-broker-XXXXXX");
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::string file(const char* name) const { return (path / name).string(); }
};

instance_record an_instance(std::string id) {
    return {.instance_id = std::move(id),
            .service_id = "svc-f",
            .plan_id = "plan-u",
            .organization_guid = "org-guid",
            .space_guid = "space-guid",
            .context = {{"organization_name", "org"}, {"space_name", "space"}},
            .parameters = "{}"};
}

binding_record a_binding(std::string id, std::string instance, std::string key_hash) {
    return {.binding_id = std::move(id),
            .instance_id = std::move(instance),
            .service_id = "svc-f",
            .plan_id = "plan-u",
            .app_guid = "app-1",
            .context = {{"space_name", "space"}},
            .parameters = "{}",
            .endpoint = "",
            .key_hash = std::move(key_hash),
            .seq = 0};
}

}  // namespace

TEST_CASE("everything survives closing and reopening the same file") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    const std::string key_hash = hash_access_key("the-key");
    {
        binding_store store(db);
        REQUIRE_FALSE(store.insert_instance(an_instance("i-1")));
        binding_record forwarder = a_binding("b-1", "i-1", key_hash);
        REQUIRE_FALSE(store.insert_binding(forwarder));
        CHECK(forwarder.seq > 0);
        binding_record promfetcher = a_binding("b-2", "i-1", "");
        promfetcher.endpoint = "/actuator/prometheus";
        promfetcher.parameters = R"({"endpoint":"/actuator/prometheus"})";
        REQUIRE_FALSE(store.insert_binding(promfetcher));
        CHECK(promfetcher.seq > forwarder.seq);
    }
    binding_store store(db);
    const auto instance = store.find_instance("i-1");
    REQUIRE(instance.has_value());
    REQUIRE(*instance);
    CHECK((*instance)->service_id == "svc-f");
    CHECK((*instance)->organization_guid == "org-guid");
    CHECK((*instance)->context.at("organization_name") == "org");
    const auto all = store.bindings();
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].binding_id == "b-1");
    CHECK((*all)[0].key_hash == key_hash);
    CHECK((*all)[0].app_guid == "app-1");
    CHECK((*all)[0].context.at("space_name") == "space");
    CHECK((*all)[1].binding_id == "b-2");
    CHECK((*all)[1].key_hash.empty());
    CHECK((*all)[1].endpoint == "/actuator/prometheus");
    CHECK((*all)[1].parameters == R"({"endpoint":"/actuator/prometheus"})");
    CHECK(*store.instance_count() == 1);
    // Every instance, as the cluster's import of pre-cluster rows reads them.
    const auto instances = store.instances();
    REQUIRE(instances.has_value());
    REQUIRE(instances->size() == 1);
    CHECK((*instances)[0].instance_id == "i-1");
    CHECK((*instances)[0].space_guid == (*instance)->space_guid);
    CHECK((*instances)[0].context == (*instance)->context);
    CHECK((*instances)[0].origin == (*instance)->origin);
}

TEST_CASE("the file holds the key's hash, never the key") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    const std::string key = *generate_access_key();
    {
        binding_store store(db);
        REQUIRE_FALSE(store.insert_instance(an_instance("i-1")));
        binding_record b = a_binding("b-1", "i-1", hash_access_key(key));
        REQUIRE_FALSE(store.insert_binding(b));
    }
    // Everything SQLite wrote (main file and WAL alike).
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
        std::FILE* f = std::fopen(entry.path().c_str(), "rb");
        REQUIRE(f != nullptr);
        char buffer[4096];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
            bytes.append(buffer, n);
        }
        std::fclose(f);
    }
    CHECK(bytes.find(key) == std::string::npos);
    CHECK(bytes.find(hash_access_key(key)) != std::string::npos);
}

TEST_CASE("the database is WAL, synchronous FULL, and locked against a second gateway") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    binding_store store(db);
    CHECK(std::filesystem::exists(dir.file("broker.db-wal")));
    try {
        binding_store second(db);
        FAIL("a second store opened the locked file");
    } catch (const store_error& e) {
        CHECK(std::string(e.what()).find("database is locked") != std::string::npos);
    }
}

TEST_CASE("a schema newer than this build is refused") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
        REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 7", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(raw);
    }
    CHECK_THROWS_WITH(binding_store(db), "broker.database " + db +
                                             ": schema version 7 is newer than this gateway's (2)");
}

TEST_CASE("an unopenable path is a startup error naming it") {
    CHECK_THROWS_AS(binding_store("/nonexistent-dir/x/broker.db"), store_error);
}

TEST_CASE("unbind deletes one binding, deprovision deletes the instance and its bindings") {
    binding_store store("");  // in memory
    REQUIRE_FALSE(store.insert_instance(an_instance("i-1")));
    REQUIRE_FALSE(store.insert_instance(an_instance("i-2")));
    binding_record b1 = a_binding("b-1", "i-1", hash_access_key("k1"));
    binding_record b2 = a_binding("b-2", "i-1", hash_access_key("k2"));
    binding_record b3 = a_binding("b-3", "i-2", hash_access_key("k3"));
    REQUIRE_FALSE(store.insert_binding(b1));
    REQUIRE_FALSE(store.insert_binding(b2));
    REQUIRE_FALSE(store.insert_binding(b3));

    CHECK(*store.delete_binding("b-2") == true);
    CHECK(*store.delete_binding("b-2") == false);
    CHECK_FALSE(*store.find_binding("b-2"));

    const auto removed = store.delete_instance("i-1");
    REQUIRE(removed.has_value());
    REQUIRE(*removed);
    REQUIRE((*removed)->size() == 1);
    CHECK((*removed)->front().binding_id == "b-1");
    CHECK_FALSE(*store.find_instance("i-1"));
    CHECK_FALSE(*store.find_binding("b-1"));
    CHECK(*store.find_binding("b-3"));
    const auto again = store.delete_instance("i-1");
    REQUIRE(again.has_value());
    CHECK_FALSE(*again);
    CHECK(*store.instance_count() == 1);
}

TEST_CASE("constraints: duplicate ids, duplicate key hashes, bindings of unknown instances") {
    binding_store store("");
    REQUIRE_FALSE(store.insert_instance(an_instance("i-1")));
    CHECK(store.insert_instance(an_instance("i-1")));
    binding_record b1 = a_binding("b-1", "i-1", "hash");
    REQUIRE_FALSE(store.insert_binding(b1));
    binding_record same_id = a_binding("b-1", "i-1", "other");
    CHECK(store.insert_binding(same_id));
    binding_record same_hash = a_binding("b-2", "i-1", "hash");
    CHECK(store.insert_binding(same_hash));
    binding_record orphan = a_binding("b-3", "i-404", "");
    const auto ec = store.insert_binding(orphan);
    CHECK(ec);
    CHECK(ec.category().name() == std::string("sqlite"));
    // Bindings without keys (promfetcher) do not collide on the empty hash.
    binding_record p1 = a_binding("p-1", "i-1", "");
    binding_record p2 = a_binding("p-2", "i-1", "");
    CHECK_FALSE(store.insert_binding(p1));
    CHECK_FALSE(store.insert_binding(p2));
}

TEST_CASE("replacing a binding's key hash and updating an instance") {
    binding_store store("");
    REQUIRE_FALSE(store.insert_instance(an_instance("i-1")));
    binding_record b = a_binding("b-1", "i-1", "old");
    REQUIRE_FALSE(store.insert_binding(b));
    REQUIRE_FALSE(store.replace_key_hash("b-1", "new"));
    CHECK((*store.find_binding("b-1"))->key_hash == "new");

    instance_record i = an_instance("i-1");
    i.parameters = R"({"x":1})";
    REQUIRE_FALSE(store.update_instance(i));
    CHECK((*store.find_instance("i-1"))->parameters == R"({"x":1})");
}

TEST_CASE("a version 1 file is upgraded in place: rows kept, seq never handed out twice") {
    temp_dir dir;
    const std::string db = dir.file("broker.db");
    {
        // A file as the previous release wrote it (schema 1), with bindings 1..3 of which the
        // last two were deleted: seq 2 and 3 must never come back.
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
        const char* v1 = R"sql(
CREATE TABLE instances (instance_id TEXT PRIMARY KEY NOT NULL, service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL, organization_guid TEXT NOT NULL, space_guid TEXT NOT NULL,
    context TEXT NOT NULL, parameters TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE bindings (seq INTEGER PRIMARY KEY AUTOINCREMENT, binding_id TEXT UNIQUE NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances(instance_id), service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL, app_guid TEXT NOT NULL, context TEXT NOT NULL,
    parameters TEXT NOT NULL, endpoint TEXT NOT NULL, key_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL);
CREATE INDEX bindings_instance ON bindings(instance_id);
INSERT INTO instances VALUES ('i-1', 'svc-f', 'plan-u', 'o', 's', '{}', '{}', 0);
INSERT INTO bindings (binding_id, instance_id, service_id, plan_id, app_guid, context,
    parameters, endpoint, key_hash, created_at)
    VALUES ('b-1', 'i-1', 'svc-f', 'plan-u', 'app-1', '{}', '{}', '/m', 'hash-1', 0),
           ('b-2', 'i-1', 'svc-f', 'plan-u', 'app-1', '{}', '{}', '', NULL, 0),
           ('b-3', 'i-1', 'svc-f', 'plan-u', 'app-1', '{}', '{}', '', NULL, 0);
DELETE FROM bindings WHERE binding_id IN ('b-2', 'b-3');
PRAGMA user_version = 1;
)sql";
        REQUIRE(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(raw);
    }
    binding_store store(db);
    auto b1 = store.find_binding("b-1");
    REQUIRE(b1.has_value());
    REQUIRE(*b1);
    CHECK((*b1)->seq == 1);
    CHECK((*b1)->endpoint == "/m");
    CHECK((*b1)->key_hash == "hash-1");
    CHECK((*b1)->origin == record_origin::broker);
    auto instance = store.find_instance("i-1");
    REQUIRE(instance.has_value());
    REQUIRE(*instance);
    CHECK((*instance)->origin == record_origin::broker);
    binding_record next = a_binding("b-4", "i-1", "");
    REQUIRE_FALSE(store.insert_binding(next));
    CHECK(next.seq == 4);
}

TEST_CASE("importing Promfetcher rows: added once, unchanged after, conflicts left alone") {
    binding_store store("");
    binding_record row{.binding_id = "guid-1",
                       .instance_id = "",
                       .service_id = "svc-p",
                       .plan_id = "plan-p",
                       .app_guid = "app-1",
                       .context = {},
                       .parameters = R"({"endpoint":"/prom"})",
                       .endpoint = "/prom",
                       .key_hash = "",
                       .seq = 0,
                       .origin = record_origin::broker};
    auto outcome = store.import_binding(row);
    REQUIRE(outcome.has_value());
    CHECK(*outcome == import_outcome::added);
    auto stored = store.find_binding("guid-1");
    REQUIRE(stored.has_value());
    REQUIRE(*stored);
    CHECK((*stored)->instance_id.empty());  // NULL: Promfetcher kept no instances
    CHECK((*stored)->origin == record_origin::promfetcher_import);

    binding_record again = row;
    outcome = store.import_binding(again);
    REQUIRE(outcome.has_value());
    CHECK(*outcome == import_outcome::unchanged);

    binding_record other = row;
    other.endpoint = "/elsewhere";
    outcome = store.import_binding(other);
    REQUIRE(outcome.has_value());
    CHECK(*outcome == import_outcome::conflict);
    CHECK((*store.find_binding("guid-1"))->endpoint == "/prom");

    // A batch that is not committed leaves nothing behind (the dry run, a strict failure).
    {
        binding_store::batch dry(store);
        REQUIRE_FALSE(dry.begin_error());
        binding_record fresh = row;
        fresh.binding_id = "guid-2";
        REQUIRE(store.import_binding(fresh).has_value());
        CHECK(*store.binding_count() == 2);
    }
    CHECK(*store.binding_count() == 1);
}
