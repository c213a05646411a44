// Promfetcher's app_endpoints dump as `mysql -B` prints it: header or not, NULL, batch-mode
// escapes, bad rows with their line numbers; Promfetcher's choice among an app's rows; and the
// import command on files: dry run, idempotence, --strict, exit codes.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/broker/binding_store.hpp>
#include <mgw/broker/promfetcher_import.hpp>

#include "broker_fixture.hpp"

using namespace mgw::broker;

namespace {

// Every line through one reader: the rows and the errors.
struct parsed {
    std::vector<app_endpoint_row> rows;
    std::vector<import_row_error> errors;
};

parsed read_all(const std::vector<std::string>& lines) {
    app_endpoints_reader reader;
    parsed out;
    for (const std::string& line : lines) {
        auto result = reader.line(line);
        if (auto* row = std::get_if<app_endpoint_row>(&result)) {
            out.rows.push_back(*row);
        } else if (auto* error = std::get_if<import_row_error>(&result)) {
            out.errors.push_back(*error);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("mysql batch fields: NULL, and the escapes mysql -B writes") {
    bool valid = false;
    CHECK_FALSE(unescape_mysql_field("NULL", valid));
    CHECK(valid);
    CHECK(unescape_mysql_field("null", valid) == "null");  // only the keyword is SQL NULL
    CHECK(unescape_mysql_field("", valid) == "");
    CHECK(unescape_mysql_field(R"(a\tb\nc\\d\0e)", valid) == std::string("a\tb\nc\\d\0e", 9));
    CHECK(unescape_mysql_field(R"(\r\b\Z\q)", valid) == "\r\b\x1aq");
    CHECK(valid);
    unescape_mysql_field("ends\\", valid);
    CHECK_FALSE(valid);
}

TEST_CASE("app_endpoints rows with the header mysql -B prints, in any column order") {
    const parsed p = read_all({"endpoint\tguid\tapp_guid", "/m\tb-1\tapp-1", "NULL\tb-2\tapp-2\r",
                               "", "/a\\\\b\tb-3\tapp-3"});
    REQUIRE(p.errors.empty());
    REQUIRE(p.rows.size() == 3);
    CHECK(p.rows[0].line == 2);
    CHECK(p.rows[0].guid == "b-1");
    CHECK(p.rows[0].app_guid == "app-1");
    CHECK(p.rows[0].endpoint == "/m");
    CHECK(p.rows[1].endpoint.empty());  // NULL: the default path
    CHECK(p.rows[1].line == 3);
    CHECK(p.rows[2].endpoint == "/a\\b");
    CHECK(p.rows[2].line == 5);
}

TEST_CASE("app_endpoints rows without a header are guid, app_guid, endpoint") {
    const parsed p = read_all({"b-1\tapp-1\t/m", "b-2\tapp-2\t"});
    REQUIRE(p.errors.empty());
    REQUIRE(p.rows.size() == 2);
    CHECK(p.rows[0].line == 1);
    CHECK(p.rows[1].endpoint.empty());
}

TEST_CASE("bad rows are errors naming their line, the reader goes on") {
    const parsed p = read_all({
        "guid\tapp_guid\tendpoint",
        "b-1\tapp-1",                                                // 2: two fields
        "b-2\tapp-2\t/m\textra",                                     // 3: four fields
        "NULL\tapp-3\t/m",                                           // 4: no binding id
        "b-4\tNULL\t/m",                                             // 5: no app
        "b-5\tapp 5\t/m",                                            // 6: a space in the app id
        "b-6\tapp-6\tmetrics",                                       // 7: not a path
        "b-7\tapp-7\t//evil.example.com/m",                          // 8: another host
        "b-8\tapp-8\t/m\\tx",                                        // 9: a tab inside the path
        "b-9\tapp-9\t/m\\",                                          // 10: a lone backslash
        std::string(app_endpoints_reader::max_line_bytes + 1, 'x'),  // 11: too long
        "b-12\tapp-12\t/fine",                                       // 12: still read
    });
    REQUIRE(p.rows.size() == 1);
    CHECK(p.rows[0].guid == "b-12");
    REQUIRE(p.errors.size() == 10);
    std::vector<std::size_t> lines;
    for (const auto& e : p.errors) {
        lines.push_back(e.line);
    }
    CHECK(lines == std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(p.errors[0].reason == "2 tab-separated fields, expected 3 (guid, app_guid, endpoint)");
    CHECK(p.errors[2].reason.starts_with("guid \"NULL\" is not a binding id"));
    CHECK(p.errors[4].reason.starts_with("app_guid \"app 5\" is not an app id"));
    CHECK(p.errors[5].reason.starts_with("endpoint \"metrics\": endpoint must be a path"));
    CHECK(p.errors[7].reason.starts_with("endpoint \"/m?x\": "));  // control bytes not echoed
    CHECK(p.errors[9].reason == "line longer than 65536 bytes");
}

TEST_CASE("several rows for one app: the one Promfetcher used (smallest guid) is imported last") {
    std::vector<app_endpoint_row> rows{
        {.line = 1, .guid = "b", .app_guid = "app-1", .endpoint = "/b"},
        {.line = 2, .guid = "z", .app_guid = "app-2", .endpoint = "/z"},
        {.line = 3, .guid = "a", .app_guid = "app-1", .endpoint = "/a"},
        {.line = 4, .guid = "c", .app_guid = "app-1", .endpoint = "/c"}};
    order_like_promfetcher(rows);
    std::vector<std::string> order;
    for (const auto& r : rows) {
        order.push_back(r.guid);
    }
    CHECK(order == std::vector<std::string>{"c", "b", "a", "z"});
}

TEST_CASE("import command: dry run, import, nothing changed the second time, strict, limits") {
    broker_test::temp_dir dir;
    const std::string dump = dir.file("dump.tsv");
    {
        std::ofstream f(dump);
        f << "guid\tapp_guid\tendpoint\n"
             "b-1\tapp-1\t/prom\n"
             "b-2\tapp-1\t/first\n"
             "b-3\tapp-2\tNULL\n";
    }
    const std::string db = dir.file("broker.db");
    promfetcher_import_options options{.input = dump,
                                       .database = db,
                                       .service_id = "svc-p",
                                       .plan_id = "plan-p",
                                       .max_bindings = 100,
                                       .dry_run = true,
                                       .strict = false,
                                       .progress = false};
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_promfetcher_import(options, out, err) == 0);
    CHECK(err.str().empty());
    CHECK(out.str().find("dry run: would add 3 bindings; 0 already present") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));

    options.dry_run = false;
    out.str("");
    CHECK(run_promfetcher_import(options, out, err) == 0);
    CHECK(out.str().find("imported 3 bindings into " + db) != std::string::npos);
    CHECK(out.str().find("app app-1 has 2 rows; Promfetcher scraped it at /prom (guid b-1)") !=
          std::string::npos);
    {
        binding_store store(db);
        CHECK(*store.binding_count() == 3);
        const auto all = store.bindings();
        REQUIRE(all.has_value());
        // b-1 was Promfetcher's choice for app-1: imported after b-2, so it decides.
        CHECK(all->at(1).binding_id == "b-1");
        CHECK(all->at(1).service_id == "svc-p");
        CHECK(all->at(1).parameters == R"({"endpoint":"/prom"})");
        CHECK(all->at(2).endpoint.empty());
    }

    out.str("");
    CHECK(run_promfetcher_import(options, out, err) == 0);
    CHECK(out.str().ends_with("nothing changed: 3 bindings already in " + db + "\n"));

    // Strict: one bad row and nothing of the file is imported.
    {
        std::ofstream f(dump, std::ios::app);
        f << "b-4\tapp-4\t/new\n"
             "b-5\tapp-5\tno-slash\n";
    }
    options.strict = true;
    out.str("");
    err.str("");
    CHECK(run_promfetcher_import(options, out, err) == 1);
    CHECK(err.str().starts_with(dump + ":6: endpoint \"no-slash\""));
    CHECK(binding_store(db).binding_count().value() == 3);
    // Not strict: the good row goes in, the bad one is reported, exit 1.
    options.strict = false;
    CHECK(run_promfetcher_import(options, out, err) == 1);
    CHECK(binding_store(db).binding_count().value() == 4);

    // broker.max_bindings holds for imports too: past it nothing is imported.
    options.max_bindings = 4;
    {
        std::ofstream f(dump, std::ios::app);
        f << "b-6\tapp-6\t/six\n";
    }
    err.str("");
    CHECK(run_promfetcher_import(options, out, err) == 2);
    CHECK(err.str().find("broker.max_bindings") != std::string::npos);
    CHECK(err.str().find("nothing imported") != std::string::npos);
    CHECK(binding_store(db).binding_count().value() == 4);

    // No database: refused (an in-memory broker has nowhere to keep them).
    options.database.clear();
    CHECK(run_promfetcher_import(options, out, err) == 2);
    options.database = db;
    options.input = dir.file("missing.tsv");
    CHECK(run_promfetcher_import(options, out, err) == 2);
}
