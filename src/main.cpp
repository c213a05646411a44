// metrics-gateway command line: `serve` (the default), `check`, `version`. See usage() below
// and DESIGN.md's pinned CLI; scripts and tests rely on these spellings and exit codes.
#include <cstdio>
#include <exception>
#include <iostream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include <mgw/core/config.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/version.hpp>
#include <mgw/exposition/check.hpp>
#include <mgw/gateway/gateway.hpp>

namespace {

constexpr int exit_usage = 2;

constexpr std::string_view main_usage = R"(usage: metrics-gateway [serve] [--config FILE]
       metrics-gateway check [--format prometheus|openmetrics|auto] [FILE|-]
       metrics-gateway version

Commands:
  serve     run the gateway (the default); without --config it runs on embedded defaults
            (HTTP on 127.0.0.1:8085, health on 127.0.0.1:8080, no NATS)
  check     validate a Prometheus text 0.0.4 or OpenMetrics 1.0 exposition
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
    R"(usage: metrics-gateway check [--format prometheus|openmetrics|auto] [FILE|-]

Validates an exposition read from FILE or standard input, like `promtool check metrics`.
Exit status 0 when valid, 1 when invalid (with "line:col: reason" on standard error),
2 on usage or I/O errors.

Options:
  -f, --format F   prometheus (text 0.0.4), openmetrics (1.0) or auto (default: OpenMetrics
                   when the input ends with "# EOF")
  -h, --help       this help
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
    mgw::core::gateway_config config;
    try {
        config =
            config_file ? mgw::core::load_config_file(*config_file) : mgw::core::default_config();
    } catch (const mgw::core::config_error& error) {
        log.error("invalid configuration", {{"error", error.what()}});
        std::cerr << "metrics-gateway: invalid configuration: " << error.what() << "\n";
        return 1;
    }
    log.set_level(config.log.level);
    log.set_format(config.log.format);

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
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (is_help(arg)) {
            std::cout << check_usage;
            return 0;
        }
        if (arg == "-f" || arg == "--format" || arg.starts_with("--format=")) {
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
    if (!file || *file == "-") {
        input.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
        std::FILE* stream = std::fopen(file->c_str(), "rb");
        if (stream == nullptr) {
            std::cerr << "metrics-gateway: cannot open " << *file << ": "
                      << std::generic_category().message(errno) << "\n";
            return exit_usage;
        }
        char buffer[65536];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, stream)) > 0) {
            input.append(buffer, n);
        }
        std::fclose(stream);
    }

    std::string diagnostic;
    const int status = mgw::exposition::check_exposition(input, format, diagnostic);
    if (status != 0) {
        std::cerr << diagnostic << "\n";
    }
    return status;
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
