// Promfetcher's app_endpoints rows into the binding store: the batch-mode reader, and the
// `broker import-promfetcher` command that reads a dump and imports it in one transaction.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <sys/stat.h>
#include <system_error>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <mgw/broker/binding_store.hpp>
#include <mgw/broker/osb_request.hpp>
#include <mgw/broker/promfetcher_import.hpp>
#include <mgw/core/progress_line.hpp>

namespace mgw::broker {

namespace {

bool visible_id(std::string_view id) {
    return !id.empty() && id.size() <= 255 &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::vector<std::string_view> split_tabs(std::string_view text) {
    std::vector<std::string_view> fields;
    while (true) {
        const std::size_t tab = text.find('\t');
        fields.push_back(text.substr(0, tab));
        if (tab == std::string_view::npos) {
            return fields;
        }
        text.remove_prefix(tab + 1);
    }
}

// Printable for an error message: at most 80 bytes, control bytes as '?'.
std::string shown(std::string_view text) {
    std::string out(text.substr(0, 80));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '?';
        }
    }
    return text.size() > 80 ? out + "..." : out;
}

}  // namespace

std::optional<std::string> unescape_mysql_field(std::string_view field, bool& valid) {
    valid = true;
    if (field == "NULL") {
        return std::nullopt;
    }
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\') {
            out.push_back(field[i]);
            continue;
        }
        if (++i == field.size()) {
            valid = false;
            return out;
        }
        switch (field[i]) {
            case '0':
                out.push_back('\0');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'Z':
                out.push_back('\x1a');
                break;
            default:
                out.push_back(field[i]);
                break;
        }
    }
    return out;
}

app_endpoints_reader::result app_endpoints_reader::line(std::string_view text) {
    ++line_;
    const bool first = std::exchange(first_, false);
    if (text.ends_with('\r')) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return std::monostate{};
    }
    if (text.size() > max_line_bytes) {
        return import_row_error{line_, fmt::format("line longer than {} bytes", max_line_bytes)};
    }
    const std::vector<std::string_view> fields = split_tabs(text);
    if (first) {
        // The header `mysql -B` prints: column names, in the table's order (SELECT *) or the
        // query's. A first line naming the three columns is one, whatever their order.
        std::map<std::string_view, std::size_t> columns;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            columns.emplace(fields[i], i);
        }
        if (columns.contains("guid") && columns.contains("app_guid") &&
            columns.contains("endpoint")) {
            fields_ = fields.size();
            guid_ = columns.at("guid");
            app_guid_ = columns.at("app_guid");
            endpoint_ = columns.at("endpoint");
            return std::monostate{};
        }
    }
    if (fields.size() != fields_) {
        return import_row_error{
            line_, fmt::format("{} tab-separated fields, expected {} (guid, app_guid, endpoint)",
                               fields.size(), fields_)};
    }
    app_endpoint_row row{.line = line_, .guid = {}, .app_guid = {}, .endpoint = {}};
    bool valid = true;
    const auto guid = unescape_mysql_field(fields[guid_], valid);
    if (!valid || !guid || !visible_id(*guid)) {
        return import_row_error{line_, fmt::format("guid \"{}\" is not a binding id (1 to 255 "
                                                   "visible ASCII characters)",
                                                   shown(fields[guid_]))};
    }
    const auto app_guid = unescape_mysql_field(fields[app_guid_], valid);
    if (!valid || !app_guid || !visible_id(*app_guid)) {
        return import_row_error{line_, fmt::format("app_guid \"{}\" is not an app id (1 to 255 "
                                                   "visible ASCII characters)",
                                                   shown(fields[app_guid_]))};
    }
    const auto endpoint = unescape_mysql_field(fields[endpoint_], valid);
    if (!valid) {
        return import_row_error{line_, "endpoint ends with a lone backslash"};
    }
    row.guid = *guid;
    row.app_guid = *app_guid;
    if (endpoint && !endpoint->empty()) {
        // The bind's own rule, so that an imported path is one a bind could have set.
        const std::string parameters = boost::json::serialize(
            boost::json::object{{"endpoint", boost::json::string_view(*endpoint)}});
        auto path = decode_promfetcher_endpoint(parameters);
        if (path.has_error()) {
            return import_row_error{line_, fmt::format("endpoint \"{}\": {}", shown(*endpoint),
                                                       path.error().description)};
        }
        row.endpoint = *std::move(path);
    }
    return row;
}

void order_like_promfetcher(std::vector<app_endpoint_row>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        if (a.app_guid != b.app_guid) {
            return a.app_guid < b.app_guid;
        }
        return a.guid > b.guid;
    });
}

namespace {

using progress_writer = core::progress_writer;

struct read_result {
    std::vector<app_endpoint_row> rows;
    std::vector<import_row_error> errors;
};

// Reads every line of `stream` through the reader, holding rows (at most `max_rows`). False
// on an I/O error or too many rows (with `failure` set).
bool read_rows(std::FILE* stream, std::uintmax_t total_bytes, std::size_t max_rows,
               read_result& out, progress_writer& progress, std::string& failure) {
    app_endpoints_reader reader;
    std::string line;
    bool overlong = false;
    std::uintmax_t bytes = 0;
    std::vector<char> buffer(64 * 1024);
    const auto finish_line = [&] {
        if (overlong) {
            line.assign(app_endpoints_reader::max_line_bytes + 1, 'x');
        }
        auto result = reader.line(line);
        if (auto* row = std::get_if<app_endpoint_row>(&result)) {
            out.rows.push_back(std::move(*row));
        } else if (auto* error = std::get_if<import_row_error>(&result)) {
            out.errors.push_back(std::move(*error));
        }
        line.clear();
        overlong = false;
    };
    while (true) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), stream);
        if (n == 0) {
            break;
        }
        bytes += n;
        std::string_view chunk(buffer.data(), n);
        while (!chunk.empty()) {
            const std::size_t newline = chunk.find('\n');
            const std::string_view piece = chunk.substr(0, newline);
            if (!overlong && line.size() + piece.size() <= app_endpoints_reader::max_line_bytes) {
                line.append(piece);
            } else {
                overlong = true;  // the rest of this line is skipped, not held
                line.clear();
            }
            if (newline == std::string_view::npos) {
                break;
            }
            finish_line();
            chunk.remove_prefix(newline + 1);
        }
        if (out.rows.size() > max_rows) {
            failure =
                fmt::format("more than {} rows: broker.max_bindings would be passed", max_rows);
            return false;
        }
        progress.show(fmt::format(
            "{}, {} rows", core::bytes_progress("reading", bytes, total_bytes), out.rows.size()));
    }
    if (std::ferror(stream)) {
        failure = std::generic_category().message(errno);
        return false;
    }
    if (!line.empty() || overlong) {
        finish_line();
    }
    if (out.rows.size() > max_rows) {
        failure = fmt::format("more than {} rows: broker.max_bindings would be passed", max_rows);
        return false;
    }
    return true;
}

}  // namespace

int run_promfetcher_import(const promfetcher_import_options& options, std::ostream& out,
                           std::ostream& err) {
    constexpr int ok = 0;
    constexpr int some_rows_refused = 1;
    constexpr int failed = 2;
    const std::string name = options.input == "-" ? "<stdin>" : options.input;
    progress_writer progress(err, options.progress);

    if (options.database.empty()) {
        err << "metrics-gateway: no broker database to import into: set broker.database in "
               "--config or give --database FILE (a broker kept in memory has nothing to keep "
               "imported bindings in)\n";
        return failed;
    }
    std::FILE* stream = options.input == "-" ? stdin : std::fopen(options.input.c_str(), "rb");
    if (stream == nullptr) {
        err << "metrics-gateway: cannot open " << options.input << ": "
            << std::generic_category().message(errno) << "\n";
        return failed;
    }
    // The total for the progress line: a file's size, also when it is standard input
    // (`< app_endpoints.tsv`); unknown for a pipe.
    std::uintmax_t total_bytes = 0;
    struct stat info {};
    if (::fstat(::fileno(stream), &info) == 0 && S_ISREG(info.st_mode)) {
        total_bytes = static_cast<std::uintmax_t>(info.st_size);
    }
    read_result read;
    std::string failure;
    const bool complete =
        read_rows(stream, total_bytes, options.max_bindings, read, progress, failure);
    if (stream != stdin) {
        std::fclose(stream);
    }
    progress.clear();
    if (!complete) {
        err << "metrics-gateway: " << name << ": " << failure << "; nothing imported\n";
        return failed;
    }
    for (const import_row_error& error : read.errors) {
        err << name << ":" << error.line << ": " << error.reason << "\n";
    }
    order_like_promfetcher(read.rows);

    // A dry run on a file that does not exist yet must not create it: an empty store in
    // memory answers the same questions.
    std::error_code exists_error;
    const bool database_exists = std::filesystem::exists(options.database, exists_error);
    const std::string path = options.dry_run && !database_exists ? std::string() : options.database;
    std::optional<binding_store> store;
    try {
        store.emplace(path);
    } catch (const store_error& e) {
        const std::string what = e.what();
        err << "metrics-gateway: " << what;
        if (what.find("database is locked") != std::string::npos) {
            err << " (a running gateway holds it: stop it, import, start it again)";
        }
        err << "\n";
        return failed;
    }
    auto existing = store->binding_count();
    if (!existing) {
        err << "metrics-gateway: " << options.database
            << ": cannot count bindings: " << existing.error().message() << "\n";
        return failed;
    }

    binding_store::batch batch(*store);
    if (const auto ec = batch.begin_error()) {
        err << "metrics-gateway: " << options.database << ": " << ec.message() << "\n";
        return failed;
    }
    std::size_t added = 0;
    std::size_t unchanged = 0;
    std::size_t conflicts = 0;
    std::int64_t count = *existing;
    std::map<std::string, std::size_t> rows_per_app;
    for (const app_endpoint_row& row : read.rows) {
        ++rows_per_app[row.app_guid];
    }
    const std::string verb = options.dry_run ? "would add" : "added";
    for (std::size_t i = 0; i < read.rows.size(); ++i) {
        const app_endpoint_row& row = read.rows[i];
        progress.show(core::count_progress("importing", i + 1, read.rows.size(), "rows"), i == 0);
        binding_record binding{
            .binding_id = row.guid,
            .instance_id = {},
            .service_id = options.service_id,
            .plan_id = options.plan_id,
            .app_guid = row.app_guid,
            .context = {},
            .parameters =
                row.endpoint.empty()
                    ? std::string("{}")
                    : boost::json::serialize(boost::json::object{{"endpoint", row.endpoint}}),
            .endpoint = row.endpoint,
            .key_hash = {},
            .seq = 0,
            .origin = record_origin::promfetcher_import};
        auto outcome = store->import_binding(binding);
        if (!outcome) {
            progress.clear();
            err << "metrics-gateway: " << options.database << ": " << outcome.error().message()
                << "; nothing imported\n";
            return failed;
        }
        const std::string path_shown = row.endpoint.empty() ? "the default path" : row.endpoint;
        switch (*outcome) {
            case import_outcome::added:
                ++added;
                if (++count > static_cast<std::int64_t>(options.max_bindings)) {
                    progress.clear();
                    err << "metrics-gateway: the store would hold more than "
                        << options.max_bindings
                        << " bindings (broker.max_bindings); nothing imported\n";
                    return failed;
                }
                if (options.dry_run) {
                    progress.clear();
                    out << verb << " binding " << row.guid << ": app " << row.app_guid << ", "
                        << path_shown << "\n";
                }
                break;
            case import_outcome::unchanged:
                ++unchanged;
                break;
            case import_outcome::conflict: {
                ++conflicts;
                progress.clear();
                const auto held = store->find_binding(row.guid);
                std::string detail;
                if (held && *held) {
                    detail = fmt::format(
                        " (app {}, {})", (*held)->app_guid,
                        (*held)->endpoint.empty() ? "the default path" : (*held)->endpoint);
                }
                err << name << ":" << row.line << ": binding " << row.guid
                    << " already exists with another app or path" << detail << ": left as it is\n";
                break;
            }
        }
        // Several rows for one app: the last one imported is the one Promfetcher used.
        if (rows_per_app[row.app_guid] > 1 &&
            (i + 1 == read.rows.size() || read.rows[i + 1].app_guid != row.app_guid)) {
            progress.clear();
            out << "app " << row.app_guid << " has " << rows_per_app[row.app_guid]
                << " rows; Promfetcher scraped it at " << path_shown << " (guid " << row.guid
                << "), and so will the gateway\n";
        }
    }
    progress.clear();
    const std::size_t refused = read.errors.size() + conflicts;
    if (options.dry_run) {
        out << fmt::format(
            "dry run: would add {} bindings; {} already present, {} conflicting, {} bad rows; "
            "nothing was changed\n",
            added, unchanged, conflicts, read.errors.size());
        return refused > 0 ? some_rows_refused : ok;
    }
    if (options.strict && refused > 0) {
        out << fmt::format(
            "--strict: {} bad or conflicting rows; nothing imported (the store is unchanged)\n",
            refused);
        return some_rows_refused;
    }
    if (const auto ec = batch.commit()) {
        err << "metrics-gateway: " << options.database << ": cannot commit: " << ec.message()
            << "; nothing imported\n";
        return failed;
    }
    if (added == 0) {
        // A second import of the same dump: say plainly that nothing changed.
        out << fmt::format("nothing changed: {} bindings already in {}", unchanged,
                           options.database);
        out << (refused > 0
                    ? fmt::format("; {} conflicting, {} bad rows\n", conflicts, read.errors.size())
                    : std::string("\n"));
        return refused > 0 ? some_rows_refused : ok;
    }
    out << fmt::format(
        "imported {} bindings into {}; {} already present, {} conflicting, {} bad rows\n", added,
        options.database, unchanged, conflicts, read.errors.size());
    if (added > 0) {
        out << "the gateway loads them when it next starts on this file\n";
    }
    return refused > 0 ? some_rows_refused : ok;
}

}  // namespace mgw::broker
