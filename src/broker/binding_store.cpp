// The binding store on the SQLite C API. Every statement is prepared, bound and finalised in
// one call: the broker sees a handful of requests per app lifetime, so plainness wins over
// statement caching.
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <mgw/broker/binding_store.hpp>

namespace mgw::broker {

namespace json = boost::json;
using boost::system::error_code;

namespace {

class sqlite_error_category : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "sqlite"; }
    std::string message(int code) const override { return sqlite3_errstr(code); }
};

error_code make_error(int rc) {
    return {rc, sqlite_category()};
}

std::string context_json(const context_fields& context) {
    json::object object;
    for (const auto& [key, value] : context) {
        object[key] = value;
    }
    return json::serialize(object);
}

context_fields parse_context(std::string_view text) {
    context_fields out;
    boost::system::error_code ec;
    const json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !value.is_object()) {
        return out;
    }
    for (const auto& entry : value.get_object()) {
        if (entry.value().is_string()) {
            out.emplace(std::string(entry.key()), std::string(entry.value().get_string()));
        }
    }
    return out;
}

// One prepared statement, finalised on scope exit.
class statement {
  public:
    statement(sqlite3* db, const char* sql) {
        rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    }
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    bool ok() const { return rc_ == SQLITE_OK; }
    int rc() const { return rc_; }

    statement& bind(std::string_view text) {
        if (rc_ == SQLITE_OK) {
            rc_ = sqlite3_bind_text(stmt_, ++index_, text.data(), static_cast<int>(text.size()),
                                    SQLITE_TRANSIENT);
        }
        return *this;
    }

    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() {
        if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) {
            return rc_;
        }
        rc_ = sqlite3_step(stmt_);
        return rc_;
    }

    std::string text(int column) const {
        const auto* data = sqlite3_column_text(stmt_, column);
        return data == nullptr
                   ? std::string()
                   : std::string(reinterpret_cast<const char*>(data),
                                 static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

  private:
    sqlite3_stmt* stmt_ = nullptr;
    int rc_ = SQLITE_OK;
    int index_ = 0;
};

// Commits on commit(), rolls back otherwise.
class transaction {
  public:
    explicit transaction(sqlite3* db) : db_(db) {
        rc_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    }
    ~transaction() {
        if (rc_ == SQLITE_OK && !done_) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    int rc() const { return rc_; }
    int commit() {
        done_ = true;
        return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    }

  private:
    sqlite3* db_;
    int rc_;
    bool done_ = false;
};

constexpr const char* binding_columns =
    "binding_id, instance_id, service_id, plan_id, app_guid, context, parameters, endpoint, "
    "key_hash, seq, origin";

// Rows written before schema 2 have the column's default, 'broker'.
record_origin origin_from(std::string_view text) {
    return record_origin_from_string(text).value_or(record_origin::broker);
}

// A row of "SELECT instance_id, service_id, plan_id, organization_guid, space_guid, context,
// parameters, origin FROM instances".
instance_record read_instance(const statement& s) {
    return {.instance_id = s.text(0),
            .service_id = s.text(1),
            .plan_id = s.text(2),
            .organization_guid = s.text(3),
            .space_guid = s.text(4),
            .context = parse_context(s.text(5)),
            .parameters = s.text(6),
            .origin = origin_from(s.text(7))};
}

binding_record read_binding(const statement& s) {
    return {.binding_id = s.text(0),
            .instance_id = s.text(1),  // NULL (an imported binding) reads as ""
            .service_id = s.text(2),
            .plan_id = s.text(3),
            .app_guid = s.text(4),
            .context = parse_context(s.text(5)),
            .parameters = s.text(6),
            .endpoint = s.text(7),
            .key_hash = s.text(8),
            .seq = s.integer(9),
            .origin = origin_from(s.text(10))};
}

// Version 1. key_hash is NULL for bindings without a key (promfetcher), so UNIQUE applies to
// the forwarder's keys only.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    organization_guid TEXT NOT NULL,
    space_guid TEXT NOT NULL,
    context TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE bindings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    binding_id TEXT UNIQUE NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances(instance_id),
    service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    app_guid TEXT NOT NULL,
    context TEXT NOT NULL,
    parameters TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX bindings_instance ON bindings(instance_id);
PRAGMA user_version = 1;
)sql";

// Version 2: where each record came from, and bindings without an instance (Promfetcher's
// app_endpoints rows). SQLite cannot drop a NOT NULL, so the bindings table is rebuilt; its
// AUTOINCREMENT sequence is carried over so that no seq is ever handed out twice.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE instances ADD COLUMN origin TEXT NOT NULL DEFAULT 'broker';
CREATE TABLE bindings_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    binding_id TEXT UNIQUE NOT NULL,
    instance_id TEXT REFERENCES instances(instance_id),
    service_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    app_guid TEXT NOT NULL,
    context TEXT NOT NULL,
    parameters TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    key_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    origin TEXT NOT NULL DEFAULT 'broker'
);
INSERT INTO bindings_v2 (seq, binding_id, instance_id, service_id, plan_id, app_guid, context,
                         parameters, endpoint, key_hash, created_at)
    SELECT seq, binding_id, instance_id, service_id, plan_id, app_guid, context, parameters,
           endpoint, key_hash, created_at FROM bindings;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'bindings_v2', seq FROM sqlite_sequence WHERE name = 'bindings'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bindings_v2');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'bindings'))
    WHERE name = 'bindings_v2' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bindings');
DROP TABLE bindings;
ALTER TABLE bindings_v2 RENAME TO bindings;
CREATE INDEX bindings_instance ON bindings(instance_id);
PRAGMA user_version = 2;
)sql";

}  // namespace

const boost::system::error_category& sqlite_category() {
    static const sqlite_error_category category;
    return category;
}

namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& name, std::string_view what, int code) {
    throw store_error(fmt::format("broker.database {}: {}: {}", name, what,
                                  db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

// Settings, lock and schema. Throws store_error; its statements and transaction are gone by
// the time the caller closes the connection.
void prepare_database(sqlite3* db, const std::string& name) {
    // Exclusive locking: the in-memory index is only right if this process is the only
    // writer. With WAL it also means no -shm file is needed.
    for (const char* pragma : {"PRAGMA locking_mode = EXCLUSIVE", "PRAGMA journal_mode = WAL",
                               "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"}) {
        if (const int rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr); rc != SQLITE_OK) {
            fail(db, name, pragma, rc);
        }
    }
    // BEGIN IMMEDIATE takes the write lock now, and keeps it (exclusive mode): a second
    // gateway on this file stops at start with "database is locked".
    transaction migration(db);
    if (migration.rc() != SQLITE_OK) {
        fail(db, name, "cannot lock", migration.rc());
    }
    int version = 0;
    {
        statement s(db, "PRAGMA user_version");
        if (s.step() != SQLITE_ROW) {
            fail(db, name, "cannot read the schema version", s.rc());
        }
        version = static_cast<int>(s.integer(0));
    }
    if (version > binding_store::schema_version) {
        throw store_error(
            fmt::format("broker.database {}: schema version {} is newer than this gateway's ({})",
                        name, version, binding_store::schema_version));
    }
    // A new file goes through every version, so the upgrade path is the one always tested.
    if (version < 1) {
        if (const int rc = sqlite3_exec(db, schema_v1, nullptr, nullptr, nullptr);
            rc != SQLITE_OK) {
            fail(db, name, "cannot create the schema", rc);
        }
    }
    if (version < 2) {
        if (const int rc = sqlite3_exec(db, schema_v2, nullptr, nullptr, nullptr);
            rc != SQLITE_OK) {
            fail(db, name, "cannot upgrade the schema to version 2", rc);
        }
    }
    if (const int rc = migration.commit(); rc != SQLITE_OK) {
        fail(db, name, "cannot commit the schema", rc);
    }
}

}  // namespace

binding_store::binding_store(const std::string& path) {
    const std::string name = path.empty() ? ":memory:" : path;
    // NOMUTEX: the broker service serialises every call itself.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    try {
        if (const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr); rc != SQLITE_OK) {
            fail(db_, name, "cannot open", rc);
        }
        prepare_database(db_, name);
    } catch (...) {
        // The destructor does not run for a constructor that throws.
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

binding_store::~binding_store() {
    sqlite3_close(db_);
}

store_result<std::optional<instance_record>> binding_store::find_instance(
    std::string_view instance_id) {
    statement s(db_,
                "SELECT instance_id, service_id, plan_id, organization_guid, space_guid, "
                "context, parameters, origin FROM instances WHERE instance_id = ?");
    s.bind(instance_id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
        return std::optional<instance_record>();
    }
    if (rc != SQLITE_ROW) {
        return make_error(rc);
    }
    return std::optional<instance_record>(read_instance(s));
}

error_code binding_store::insert_instance(const instance_record& instance) {
    statement s(db_,
                "INSERT INTO instances (instance_id, service_id, plan_id, organization_guid, "
                "space_guid, context, parameters, origin, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, strftime('%s', 'now'))");
    s.bind(instance.instance_id)
        .bind(instance.service_id)
        .bind(instance.plan_id)
        .bind(instance.organization_guid)
        .bind(instance.space_guid)
        .bind(context_json(instance.context))
        .bind(instance.parameters)
        .bind(to_string(instance.origin));
    const int rc = s.step();
    return rc == SQLITE_DONE ? error_code{} : make_error(rc);
}

error_code binding_store::update_instance(const instance_record& instance) {
    statement s(db_, "UPDATE instances SET plan_id = ?, parameters = ? WHERE instance_id = ?");
    s.bind(instance.plan_id).bind(instance.parameters).bind(instance.instance_id);
    const int rc = s.step();
    return rc == SQLITE_DONE ? error_code{} : make_error(rc);
}

store_result<std::optional<std::vector<binding_record>>> binding_store::delete_instance(
    std::string_view instance_id) {
    transaction t(db_);
    if (t.rc() != SQLITE_OK) {
        return make_error(t.rc());
    }
    std::vector<binding_record> removed;
    {
        const std::string sql = fmt::format(
            "SELECT {} FROM bindings WHERE instance_id = ? ORDER BY seq", binding_columns);
        statement s(db_, sql.c_str());
        s.bind(instance_id);
        int rc = 0;
        while ((rc = s.step()) == SQLITE_ROW) {
            removed.push_back(read_binding(s));
        }
        if (rc != SQLITE_DONE) {
            return make_error(rc);
        }
    }
    for (const char* sql : {"DELETE FROM bindings WHERE instance_id = ?",
                            "DELETE FROM instances WHERE instance_id = ?"}) {
        statement s(db_, sql);
        s.bind(instance_id);
        if (const int rc = s.step(); rc != SQLITE_DONE) {
            return make_error(rc);
        }
    }
    if (sqlite3_changes(db_) == 0) {
        return std::optional<std::vector<binding_record>>();
    }
    if (const int rc = t.commit(); rc != SQLITE_OK) {
        return make_error(rc);
    }
    return std::optional<std::vector<binding_record>>(std::move(removed));
}

store_result<std::optional<binding_record>> binding_store::find_binding(
    std::string_view binding_id) {
    const std::string sql =
        fmt::format("SELECT {} FROM bindings WHERE binding_id = ?", binding_columns);
    statement s(db_, sql.c_str());
    s.bind(binding_id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
        return std::optional<binding_record>();
    }
    if (rc != SQLITE_ROW) {
        return make_error(rc);
    }
    return std::optional<binding_record>(read_binding(s));
}

error_code binding_store::insert_binding(binding_record& binding) {
    statement s(db_,
                "INSERT INTO bindings (binding_id, instance_id, service_id, plan_id, app_guid, "
                "context, parameters, endpoint, key_hash, origin, created_at) "
                "VALUES (?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, "
                "strftime('%s', 'now'))");
    s.bind(binding.binding_id)
        .bind(binding.instance_id)
        .bind(binding.service_id)
        .bind(binding.plan_id)
        .bind(binding.app_guid)
        .bind(context_json(binding.context))
        .bind(binding.parameters)
        .bind(binding.endpoint)
        .bind(binding.key_hash)
        .bind(to_string(binding.origin));
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        return make_error(rc);
    }
    binding.seq = sqlite3_last_insert_rowid(db_);
    return {};
}

error_code binding_store::replace_key_hash(std::string_view binding_id, std::string_view key_hash) {
    statement s(db_, "UPDATE bindings SET key_hash = ? WHERE binding_id = ?");
    s.bind(key_hash).bind(binding_id);
    const int rc = s.step();
    return rc == SQLITE_DONE ? error_code{} : make_error(rc);
}

store_result<bool> binding_store::delete_binding(std::string_view binding_id) {
    statement s(db_, "DELETE FROM bindings WHERE binding_id = ?");
    s.bind(binding_id);
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        return store_result<bool>(boost::system::in_place_error, make_error(rc));
    }
    return sqlite3_changes(db_) > 0;
}

store_result<std::vector<binding_record>> binding_store::bindings() {
    const std::string sql = fmt::format("SELECT {} FROM bindings ORDER BY seq", binding_columns);
    statement s(db_, sql.c_str());
    std::vector<binding_record> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back(read_binding(s));
    }
    if (rc != SQLITE_DONE) {
        return make_error(rc);
    }
    return out;
}

store_result<std::vector<instance_record>> binding_store::instances() {
    statement s(db_,
                "SELECT instance_id, service_id, plan_id, organization_guid, space_guid, "
                "context, parameters, origin FROM instances ORDER BY created_at, instance_id");
    std::vector<instance_record> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back(read_instance(s));
    }
    if (rc != SQLITE_DONE) {
        return make_error(rc);
    }
    return out;
}

store_result<std::int64_t> binding_store::instance_count() {
    statement s(db_, "SELECT count(*) FROM instances");
    if (const int rc = s.step(); rc != SQLITE_ROW) {
        return make_error(rc);
    }
    return s.integer(0);
}

store_result<std::int64_t> binding_store::binding_count() {
    statement s(db_, "SELECT count(*) FROM bindings");
    if (const int rc = s.step(); rc != SQLITE_ROW) {
        return make_error(rc);
    }
    return s.integer(0);
}

store_result<import_outcome> binding_store::import_binding(binding_record& binding) {
    auto existing = find_binding(binding.binding_id);
    if (!existing) {
        return existing.error();
    }
    if (*existing) {
        const binding_record& old = **existing;
        if (old.app_guid == binding.app_guid && old.endpoint == binding.endpoint &&
            old.service_id == binding.service_id && old.key_hash.empty()) {
            binding.seq = old.seq;
            return import_outcome::unchanged;
        }
        return import_outcome::conflict;
    }
    binding.instance_id.clear();
    binding.origin = record_origin::promfetcher_import;
    if (const auto ec = insert_binding(binding)) {
        return ec;
    }
    return import_outcome::added;
}

binding_store::batch::batch(binding_store& store) : db_(store.db_) {
    rc_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
}

binding_store::batch::~batch() {
    if (rc_ == SQLITE_OK && !done_) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

error_code binding_store::batch::begin_error() const {
    return rc_ == SQLITE_OK ? error_code{} : make_error(rc_);
}

error_code binding_store::batch::commit() {
    if (rc_ != SQLITE_OK) {
        return make_error(rc_);
    }
    done_ = true;
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? error_code{} : make_error(rc);
}

}  // namespace mgw::broker
