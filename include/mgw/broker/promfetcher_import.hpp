// Broker module: taking over Promfetcher's bindings. Its broker kept one table, app_endpoints
// (guid = binding id, app_guid, endpoint = the app's custom metrics path); an operator dumps it
// with `mysql -B -e 'SELECT * FROM app_endpoints'` and `metrics-gateway broker
// import-promfetcher` loads the rows into the binding store. The reader here is pure (lines in,
// rows or errors out); the command around it is run_promfetcher_import.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mgw::broker {

// One row of app_endpoints. `endpoint` is "" for SQL NULL or an empty string: the app is then
// scraped at the default path, as after a Promfetcher bind without an endpoint.
struct app_endpoint_row {
    std::size_t line = 0;
    std::string guid;
    std::string app_guid;
    std::string endpoint;
};

struct import_row_error {
    std::size_t line = 0;
    std::string reason;
};

// A field of `mysql --batch` output: "NULL" is SQL NULL (nullopt); `\0`, `\b`, `\n`, `\r`,
// `\t`, `\Z` and `\\` are unescaped (any other `\x` is `x`, as MySQL reads it). False in
// `valid` for a trailing lone backslash.
std::optional<std::string> unescape_mysql_field(std::string_view field, bool& valid);

// Lines of `mysql -B` output (with or without the header line `mysql -B` prints, in any column
// order when the header is there; guid, app_guid, endpoint otherwise), one at a time.
class app_endpoints_reader {
  public:
    // Longer lines are refused (each field is at most 255 bytes in Promfetcher's table).
    static constexpr std::size_t max_line_bytes = 64 * 1024;

    using result = std::variant<std::monostate, app_endpoint_row, import_row_error>;

    // `text` without its line terminator (a trailing '\r' is dropped). monostate: the header
    // or a blank line.
    result line(std::string_view text);

  private:
    std::size_t line_ = 0;
    bool first_ = true;
    std::size_t fields_ = 3;
    std::size_t guid_ = 0;
    std::size_t app_guid_ = 1;
    std::size_t endpoint_ = 2;
};

// Promfetcher used, for an app with several rows, the first by primary key (gorm's First(),
// ORDER BY guid); the gateway lets an app's latest binding decide. Sorting by app, then guid
// descending, makes the row Promfetcher used the last one imported for its app.
void order_like_promfetcher(std::vector<app_endpoint_row>& rows);

struct promfetcher_import_options {
    std::string input;     // a file, or "-" for standard input
    std::string database;  // the broker's SQLite file (required: "" is refused)
    std::string service_id;
    std::string plan_id;
    std::uint32_t max_bindings = 100000;
    bool dry_run = false;
    bool strict = false;    // any bad or conflicting row: import nothing
    bool progress = false;  // a line updated in place on `err` (a terminal)
};

// The command: reads every row, then imports them in one transaction (rolled back for a dry
// run, or for --strict when a row is bad). Reports each bad row as `input:line: reason` on
// `err`, what it did (or would do) on `out`. Exit status: 0 when every row is in the store
// (added now or already there), 1 when some rows were bad or conflicting (the others imported
// unless strict), 2 when nothing could be done (unreadable input, unusable database, too many
// rows).
int run_promfetcher_import(const promfetcher_import_options& options, std::ostream& out,
                           std::ostream& err);

}  // namespace mgw::broker
