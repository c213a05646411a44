// Log lines: JSON and text layouts, escaping, level filtering, and one write per event.
#include <cmath>
#include <fcntl.h>
#include <regex>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <mgw/core/log.hpp>

using mgw::core::log_format;
using mgw::core::log_level;
using mgw::core::logger;

namespace {

// A non-blocking pipe standing in for stderr.
class pipe_fd {
  public:
    pipe_fd() { REQUIRE(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) == 0); }
    pipe_fd(const pipe_fd&) = delete;
    pipe_fd& operator=(const pipe_fd&) = delete;
    ~pipe_fd() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    int write_end() const { return fds_[1]; }
    std::string drain() {
        std::string out;
        char buffer[4096];
        ssize_t n = 0;
        while ((n = ::read(fds_[0], buffer, sizeof buffer)) > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

  private:
    int fds_[2] = {-1, -1};
};

// The line without its timestamp, which `pattern` must match.
std::string strip_time(const std::string& line, const std::regex& pattern) {
    std::smatch match;
    REQUIRE(std::regex_search(line, match, pattern));
    return match.prefix().str() + match.suffix().str();
}

const std::regex json_time(R"("time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",)");
const std::regex text_time(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )");

}  // namespace

TEST_CASE("JSON lines escape strings and type values", "[log]") {
    const logger log(log_level::debug, log_format::json, -1);
    const std::string line = log.format_line(log_level::info, "scrape \"failed\"\n",
                                             {{"app", "a\\b"},
                                              {"n", -3},
                                              {"u", 7u},
                                              {"ratio", 0.5},
                                              {"ok", false},
                                              {"nan", std::nan("")},
                                              {"ctl", std::string_view("\x01", 1)}});
    CHECK(strip_time(line, json_time) ==
          "{\"level\":\"info\",\"msg\":\"scrape \\\"failed\\\"\\n\",\"app\":\"a\\\\b\",\"n\":-3,"
          "\"u\":7,\"ratio\":0.5,\"ok\":false,\"nan\":null,\"ctl\":\"\\u0001\"}\n");
}

TEST_CASE("JSON lines stay valid UTF-8 whatever bytes a value holds", "[log]") {
    const logger log(log_level::debug, log_format::json, -1);
    // From the network: a percent-decoded path with a lone byte, DEL, a valid 'é', an overlong
    // '/' and a surrogate.
    const std::string_view value("a\xff\x7f\xc3\xa9\xc0\xaf\xed\xa0\x80z", 11);
    const std::string line = log.format_line(log_level::info, "m", {{"path", value}});
    CHECK(strip_time(line, json_time) ==
          "{\"level\":\"info\",\"msg\":\"m\",\"path\":\"a\\\\xff\\u007f\xc3\xa9\\\\xc0\\\\xaf"
          "\\\\xed\\\\xa0\\\\x80z\"}\n");
    const logger text(log_level::debug, log_format::text, -1);
    CHECK(strip_time(text.format_line(log_level::info, "m", {{"path", value}}), text_time) ==
          "info  m path=\"a\\\\xff\\u007f\xc3\xa9\\\\xc0\\\\xaf\\\\xed\\\\xa0\\\\x80z\"\n");
    CHECK(strip_time(text.format_line(log_level::info, "m", {{"name", "caf\xc3\xa9"}}),
                     text_time) == "info  m name=caf\xc3\xa9\n");
}

TEST_CASE("text lines quote values only when needed and keep one line", "[log]") {
    const logger log(log_level::debug, log_format::text, -1);
    const std::string line = log.format_line(
        log_level::warn, "drain\nstarted",
        {{"plain", "abc"}, {"spaced", "a b"}, {"empty", ""}, {"eq", "k=v"}, {"n", 42}});
    CHECK(strip_time(line, text_time) ==
          "warn  drain\\nstarted plain=abc spaced=\"a b\" empty=\"\" eq=\"k=v\" n=42\n");
}

TEST_CASE("log writes enabled events to its fd and drops the others", "[log]") {
    pipe_fd out;
    logger log(log_level::warn, log_format::json, out.write_end());
    CHECK_FALSE(log.enabled(log_level::info));
    CHECK(log.enabled(log_level::error));
    log.info("hidden");
    log.debug("hidden");
    CHECK(out.drain().empty());
    log.error("shown", {{"code", 1}});
    std::string written = out.drain();
    CHECK(strip_time(written, json_time) == "{\"level\":\"error\",\"msg\":\"shown\",\"code\":1}\n");

    log.set_level(log_level::debug);
    log.set_format(log_format::text);
    log.debug("now visible");
    written = out.drain();
    CHECK(strip_time(written, text_time) == "debug now visible\n");
}

TEST_CASE("log levels and formats parse and print", "[log]") {
    log_level level = log_level::error;
    CHECK(mgw::core::parse_log_level("debug", level));
    CHECK(level == log_level::debug);
    CHECK(mgw::core::parse_log_level("warning", level));
    CHECK(level == log_level::warn);
    CHECK_FALSE(mgw::core::parse_log_level("INFO", level));
    CHECK(level == log_level::warn);
    for (auto l : {log_level::debug, log_level::info, log_level::warn, log_level::error}) {
        log_level parsed = log_level::info;
        REQUIRE(mgw::core::parse_log_level(mgw::core::to_string(l), parsed));
        CHECK(parsed == l);
    }
    log_format format = log_format::json;
    CHECK(mgw::core::parse_log_format("text", format));
    CHECK(format == log_format::text);
    CHECK(mgw::core::parse_log_format("json", format));
    CHECK(format == log_format::json);
    CHECK_FALSE(mgw::core::parse_log_format("logfmt", format));
    CHECK(mgw::core::to_string(log_format::text) == "text");
    CHECK(mgw::core::to_string(log_format::json) == "json");
}
