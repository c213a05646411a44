// metrics-gateway command line: `serve` (the default), `check`, `hm-plugin`, `broker`, `version`.
// See usage() below and the command table in README.md ("What works today"); scripts and tests
// rely on these spellings and exit codes.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include <mgw/bosh/hm_plugin.hpp>
#include <mgw/broker/broker_service.hpp>
#include <mgw/broker/promfetcher_import.hpp>
#include <mgw/core/address.hpp>
#include <mgw/core/allocator.hpp>
#include <mgw/core/duration.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/progress_line.hpp>
#include <mgw/core/version.hpp>
#include <mgw/exposition/check.hpp>
#include <mgw/gateway/config.hpp>
#include <mgw/gateway/gateway.hpp>

namespace {

constexpr int exit_usage = 2;

constexpr std::string_view main_usage = R"(usage: metrics-gateway [serve] [--config FILE]
       metrics-gateway check [--format prometheus|openmetrics|auto] [--lenient] [FILE|-]
       metrics-gateway hm-plugin [--server HOST:PORT | --server-port PORT]
       metrics-gateway broker import-promfetcher [--dry-run] [--config FILE] FILE
       metrics-gateway version

Commands:
  serve     run the gateway (the default); without --config it runs on embedded defaults
            (HTTP on 127.0.0.1:8085, health on 127.0.0.1:8080, no NATS)
  check     validate a Prometheus text 0.0.4 or OpenMetrics 1.0 exposition
  hm-plugin BOSH Health Monitor JSON plugin: forward HM's events from stdin to the gateway
  broker    service broker maintenance: import-promfetcher loads Promfetcher's bindings
  version   print the version

Run 'metrics-gateway COMMAND --help' for a command's options.
)";

constexpr std::string_view serve_usage = R"(usage: metrics-gateway [serve] [--config FILE]

Runs the gateway until SIGINT, SIGTERM or SIGUSR1, then drains in-flight requests for
shutdown.drain_timeout and exits (0 after a complete drain). SIGUSR1 turns health to 503 first.

Options:
  -c, --config FILE   YAML configuration (see config/gateway.yml); default: embedded defaults
  -h, --help          this help
)";

constexpr std::string_view check_usage =
    R"(usage: metrics-gateway check [--format prometheus|openmetrics|auto] [--lenient] [FILE|-]

Validates an exposition read from FILE or standard input, like `promtool check metrics`.
Exit status 0 when valid, 1 when invalid (with "line:col: reason" on standard error),
2 on usage or I/O errors.

With --lenient, reads it as the gateway reads a scraped instance or an RSocket client:
exit status 0 when the gateway would serve it, each thing it would join, drop or repair on
standard error as "line:col: action: reason"; 1 when it would reject it even so.

Options:
  -f, --format F   prometheus (text 0.0.4), openmetrics (1.0) or auto (default: OpenMetrics
                   when the input ends with "# EOF")
  -l, --lenient    read as the gateway reads its sources, and say what that changes
  -h, --help       this help
)";

constexpr std::string_view hm_plugin_usage =
    R"(usage: metrics-gateway hm-plugin [--server HOST:PORT | --server-port PORT]

The BOSH Health Monitor JSON plugin. HM starts it without arguments and writes one JSON event
per line to its standard input; every line is forwarded to the gateway's bosh.ingest_listen.
Lines read while the gateway is unreachable wait in a bounded buffer (overflow is dropped and
logged) and are sent once it is back. Exits 0 at end of input once everything is delivered,
1 when buffered lines could not be delivered within --flush-timeout.

Options:
  -s, --server HOST:PORT  the gateway's ingest address (default 127.0.0.1:25594,
                          or MGW_HM_PLUGIN_SERVER when set)
  --buffer-lines N        lines held while disconnected (default 100000)
  --flush-timeout DUR     delivery attempts after end of input (default 10s)
  -h, --help              this help

The flags of the System Metrics Server's plugin are accepted with their meaning, so that an
existing bin/bosh-monitor/run.sh keeps working when it runs this binary instead (Go syntax:
one or two dashes, the value after '=' or as the next argument):
  --server-port PORT      system-metrics-plugin: send to localhost:PORT (the same as
                          --server 127.0.0.1:PORT)
  --addr HOST:PORT        system-metrics-plugin before 2017-08: the same as --server
Every one of them takes effect; none is accepted and ignored.
)";

constexpr std::string_view broker_usage =
    R"(usage: metrics-gateway broker import-promfetcher [--dry-run] [--strict] [--config FILE]
                                                  [--database FILE] FILE|-

Loads the bindings of Promfetcher's service broker into the gateway's binding store, so that
a gateway that took over Promfetcher's broker registration keeps every app's custom metrics
path. FILE is the tab-separated output of
    mysql -B -e 'SELECT * FROM app_endpoints' promfetcher > app_endpoints.tsv
(with or without the header line; NULL and batch-mode escapes understood). Importing twice
changes nothing the second time. Run it while no gateway serves the database (the file is
locked while one does), then start the gateway.

Exit status: 0 every row is in the store, 1 some rows were bad or conflicting (reported as
FILE:LINE; the others are imported unless --strict), 2 nothing could be done.

Options:
  -n, --dry-run       print what would be imported; change nothing
  --strict            import nothing if any row is bad or conflicting
  -c, --config FILE   the gateway's configuration: broker.database, broker.promfetcher ids,
                      broker.max_bindings (default: embedded defaults)
  --database FILE     the SQLite file to import into (default: broker.database, or
                      $STATE_DIRECTORY/broker.db as under the shipped systemd unit)
  -h, --help          this help
)";

bool is_help(std::string_view arg) {
    return arg == "-h" || arg == "--help";
}

int usage_error(std::string_view message, std::string_view usage) {
    std::cerr << "metrics-gateway: " << message << "\n\n" << usage;
    return exit_usage;
}

int run_serve(std::span<char* const> args) {
    std::optional<std::string> config_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (is_help(arg)) {
            std::cout << serve_usage;
            return 0;
        }
        if (arg == "-c" || arg == "--config") {
            if (i + 1 == args.size()) {
                return usage_error("--config needs a file", serve_usage);
            }
            config_file = args[++i];
        } else if (arg.starts_with("--config=")) {
            config_file = std::string(arg.substr(9));
        } else {
            return usage_error(fmt::format("unknown argument '{}'", arg), serve_usage);
        }
    }

    mgw::core::logger log;
    mgw::gateway::gateway_config config;
    try {
        config = config_file ? mgw::gateway::load_config_file(*config_file)
                             : mgw::gateway::default_config();
    } catch (const mgw::core::config_error& error) {
        log.error("invalid configuration", {{"error", error.what()}});
        std::cerr << "metrics-gateway: invalid configuration: " << error.what() << "\n";
        return 1;
    }
    log.set_level(config.log.level);
    log.set_format(config.log.format);

    // Before any thread and before the gateway measures its baseline: freed buffers leave the
    // resident set but for a bounded heap kept for the next answer, so limits.memory bounds RSS
    // and not only what is leased.
    mgw::core::bound_allocator_retention(mgw::core::kept_heap_bytes(config.limits.memory));
    try {
        mgw::gateway::gateway gateway(std::move(config), log);
        return gateway.run();
    } catch (const std::system_error& error) {
        log.error("cannot start", {{"error", error.what()}});
        return 1;
    } catch (const std::exception& error) {
        log.error("cannot start", {{"error", error.what()}});
        return 1;
    }
}

int run_check(std::span<char* const> args) {
    std::optional<mgw::exposition::format> format;
    std::optional<std::string> file;
    bool lenient = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (is_help(arg)) {
            std::cout << check_usage;
            return 0;
        }
        if (arg == "-l" || arg == "--lenient") {
            lenient = true;
        } else if (arg == "-f" || arg == "--format" || arg.starts_with("--format=")) {
            std::string_view value;
            if (arg.starts_with("--format=")) {
                value = arg.substr(9);
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return usage_error("--format needs a value", check_usage);
            }
            if (value == "prometheus") {
                format = mgw::exposition::format::prometheus_text;
            } else if (value == "openmetrics") {
                format = mgw::exposition::format::openmetrics;
            } else if (value == "auto") {
                format.reset();
            } else {
                return usage_error(fmt::format("unknown format '{}'", value), check_usage);
            }
        } else if (!file && (arg == "-" || !arg.starts_with("-"))) {
            file = std::string(arg);
        } else {
            return usage_error(fmt::format("unexpected argument '{}'", arg), check_usage);
        }
    }

    std::string input;
    std::FILE* stream = stdin;
    if (file && *file != "-") {
        stream = std::fopen(file->c_str(), "rb");
        if (stream == nullptr) {
            std::cerr << "metrics-gateway: cannot open " << *file << ": "
                      << std::generic_category().message(errno) << "\n";
            return exit_usage;
        }
    }
    // A line updated in place while a large input is read and parsed by hand; nothing of it in
    // a pipe or a log. The total is known for a file, also as standard input (`< file`).
    mgw::core::progress_writer progress(std::cerr, ::isatty(STDERR_FILENO) == 1);
    std::uint64_t total = 0;
    struct stat info {};
    if (::fstat(::fileno(stream), &info) == 0 && S_ISREG(info.st_mode)) {
        total = static_cast<std::uint64_t>(info.st_size);
        input.reserve(static_cast<std::size_t>(total));
    }
    std::vector<char> buffer(std::size_t{1} << 20);
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), stream)) > 0) {
        input.append(buffer.data(), n);
        progress.show(mgw::core::bytes_progress("reading", input.size(), total));
    }
    const bool read_failed = std::ferror(stream) != 0;
    const int read_errno = errno;
    if (stream != stdin) {
        std::fclose(stream);
    }
    if (read_failed) {
        progress.clear();
        std::cerr << "metrics-gateway: cannot read "
                  << (file && *file != "-" ? *file : std::string("<stdin>")) << ": "
                  << std::generic_category().message(read_errno) << "\n";
        return exit_usage;
    }
    // The parse is one pass over the whole input: its line stays until the verdict.
    progress.show(fmt::format("checking: {}", mgw::core::format_bytes(input.size())), true);

    if (lenient) {
        std::vector<std::string> diagnostics;
        const int status = mgw::exposition::check_exposition_lenient(input, format, diagnostics);
        progress.clear();
        for (const std::string& line : diagnostics) {
            std::cerr << line << "\n";
        }
        return status;
    }
    std::string diagnostic;
    const int status = mgw::exposition::check_exposition(input, format, diagnostic);
    progress.clear();
    if (status != 0) {
        std::cerr << diagnostic << "\n";
    }
    return status;
}

// An option of ours: `--name=value`, or `--name value` / `-n value` (the value the next
// argument, which `i` then moves past).
std::optional<std::string> option_value(std::span<char* const> args, std::size_t& i,
                                        std::string_view long_name, std::string_view short_name) {
    const std::string_view arg = args[i];
    if (arg.starts_with(long_name) && arg.size() > long_name.size() &&
        arg[long_name.size()] == '=') {
        return std::string(arg.substr(long_name.size() + 1));
    }
    if ((arg == long_name || (!short_name.empty() && arg == short_name)) && i + 1 < args.size()) {
        return std::string(args[++i]);
    }
    return std::nullopt;
}

// A flag of the original Go plugin as Go's flag package reads it: -name or --name, with the value
// after '=' or as the next argument.
std::optional<std::string> go_flag_value(std::span<char* const> args, std::size_t& i,
                                         std::string_view name) {
    std::string_view arg = args[i];
    if (arg.starts_with("--")) {
        arg.remove_prefix(2);
    } else if (arg.starts_with("-")) {
        arg.remove_prefix(1);
    } else {
        return std::nullopt;
    }
    if (arg == name && i + 1 < args.size()) {
        return std::string(args[++i]);
    }
    if (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=') {
        return std::string(arg.substr(name.size() + 1));
    }
    return std::nullopt;
}

int run_hm_plugin(std::span<char* const> args) {
    mgw::bosh::hm_plugin_options options;
    std::string server = "127.0.0.1:25594";
    if (const char* env = std::getenv("MGW_HM_PLUGIN_SERVER"); env != nullptr && *env != 0) {
        server = env;
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (is_help(arg) || arg == "-help") {
            std::cout << hm_plugin_usage;
            return 0;
        }
        auto value_of = [&](std::string_view long_name, std::string_view short_name) {
            return option_value(args, i, long_name, short_name);
        };
        if (auto port = go_flag_value(args, i, "server-port")) {
            unsigned value = 0;
            const auto [end, ec] =
                std::from_chars(port->data(), port->data() + port->size(), value);
            if (ec != std::errc{} || end != port->data() + port->size() || value == 0 ||
                value > 65535) {
                return usage_error(fmt::format("invalid --server-port '{}'", *port),
                                   hm_plugin_usage);
            }
            server = fmt::format("127.0.0.1:{}", value);
        } else if (auto addr = go_flag_value(args, i, "addr")) {
            server = *addr;
        } else if (auto v = value_of("--server", "-s")) {
            server = *v;
        } else if (auto lines = value_of("--buffer-lines", "")) {
            try {
                options.buffer_lines = std::stoul(*lines);
            } catch (const std::exception&) {
                return usage_error(fmt::format("invalid --buffer-lines '{}'", *lines),
                                   hm_plugin_usage);
            }
        } else if (auto timeout = value_of("--flush-timeout", "")) {
            const auto d = mgw::core::parse_duration(*timeout);
            if (!d) {
                return usage_error(fmt::format("invalid --flush-timeout '{}'", *timeout),
                                   hm_plugin_usage);
            }
            options.flush_timeout = *d;
        } else {
            return usage_error(fmt::format("unknown argument '{}'", arg), hm_plugin_usage);
        }
    }
    const auto address = mgw::core::parse_listen_address(server);
    if (!address || address->port == 0) {
        return usage_error(fmt::format("invalid server address '{}' (expected host:port)", server),
                           hm_plugin_usage);
    }
    options.host = address->host.empty() ? "127.0.0.1" : address->host;
    options.port = address->port;
    mgw::core::logger log;
    return mgw::bosh::run_hm_plugin(options, log);
}

int run_broker(std::span<char* const> args) {
    if (args.empty()) {
        return usage_error("broker needs a command (import-promfetcher)", broker_usage);
    }
    if (is_help(args[0])) {
        std::cout << broker_usage;
        return 0;
    }
    if (std::string_view(args[0]) != "import-promfetcher") {
        return usage_error(fmt::format("unknown broker command '{}'", args[0]), broker_usage);
    }
    mgw::broker::promfetcher_import_options options;
    std::optional<std::string> config_file;
    std::optional<std::string> database;
    std::optional<std::string> input;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (is_help(arg)) {
            std::cout << broker_usage;
            return 0;
        }
        const auto value_of = [&](std::string_view long_name, std::string_view short_name) {
            return option_value(args, i, long_name, short_name);
        };
        if (arg == "--dry-run" || arg == "-n") {
            options.dry_run = true;
        } else if (arg == "--strict") {
            options.strict = true;
        } else if (auto file = value_of("--config", "-c")) {
            config_file = *file;
        } else if (auto path = value_of("--database", "")) {
            database = *path;
        } else if (!input && (arg == "-" || !arg.starts_with("-"))) {
            input = std::string(arg);
        } else {
            return usage_error(fmt::format("unexpected argument '{}'", arg), broker_usage);
        }
    }
    if (!input) {
        return usage_error("import-promfetcher needs the app_endpoints dump (FILE or -)",
                           broker_usage);
    }
    mgw::gateway::gateway_config config;
    try {
        config = config_file ? mgw::gateway::load_config_file(*config_file)
                             : mgw::gateway::default_config();
    } catch (const mgw::core::config_error& error) {
        std::cerr << "metrics-gateway: invalid configuration: " << error.what() << "\n";
        return exit_usage;
    }
    options.input = *input;
    options.database = database ? *database
                                : mgw::broker::database_path(config.broker.database,
                                                             std::getenv("STATE_DIRECTORY"));
    options.service_id = config.broker.promfetcher.service_id;
    options.plan_id = config.broker.promfetcher.plan_id;
    options.max_bindings = config.broker.max_bindings;
    // A line updated in place for long imports run by hand; nothing of it in a pipe or a log.
    options.progress = ::isatty(STDERR_FILENO) == 1;
    return mgw::broker::run_promfetcher_import(options, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
    const std::span<char* const> args(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
    if (args.empty()) {
        return run_serve(args);
    }
    const std::string_view command = args[0];
    if (command == "serve") {
        return run_serve(args.subspan(1));
    }
    if (command == "check") {
        return run_check(args.subspan(1));
    }
    if (command == "hm-plugin") {
        return run_hm_plugin(args.subspan(1));
    }
    if (command == "broker") {
        return run_broker(args.subspan(1));
    }
    if (command == "version" || command == "--version") {
        std::cout << "metrics-gateway " << mgw::core::version() << "\n";
        return 0;
    }
    if (is_help(command)) {
        std::cout << main_usage;
        return 0;
    }
    if (command.starts_with("-")) {
        return run_serve(args);  // `metrics-gateway --config FILE`
    }
    return usage_error(fmt::format("unknown command '{}'", command), main_usage);
}
