// The progress line of long commands: at most one update per interval (the clock is the
// test's), only when enabled (a terminal), and erased only when something is shown.
#include <sstream>

#include <catch2/catch.hpp>

#include <mgw/core/progress_line.hpp>

using mgw::core::progress_line;
using namespace std::chrono_literals;

namespace {
const auto t0 = progress_line::clock::time_point{} + 1h;
}

TEST_CASE("progress: the first update shows at once, later ones at most every interval") {
    progress_line line(true, 100ms);
    CHECK(line.update("reading: 1 rows", t0) == "\r\033[Kreading: 1 rows");
    CHECK(line.update("reading: 2 rows", t0 + 10ms).empty());
    CHECK(line.update("reading: 3 rows", t0 + 99ms).empty());
    CHECK(line.update("reading: 4 rows", t0 + 100ms) == "\r\033[Kreading: 4 rows");
    CHECK(line.update("reading: 5 rows", t0 + 150ms).empty());
    CHECK(line.update("reading: 6 rows", t0 + 250ms) == "\r\033[Kreading: 6 rows");
    CHECK(line.updates() == 3);
}

TEST_CASE("progress: a thousand updates a second become at most ten") {
    progress_line line(true);
    std::size_t written = 0;
    for (int ms = 0; ms < 1000; ++ms) {
        if (!line.update("rows: " + std::to_string(ms), t0 + std::chrono::milliseconds(ms))
                 .empty()) {
            ++written;
        }
    }
    CHECK(written == 10);
    CHECK(line.updates() == 10);
}

TEST_CASE("progress: an unchanged text is not rewritten") {
    progress_line line(true, 100ms);
    CHECK_FALSE(line.update("importing: 5 of 10 rows (50%)", t0).empty());
    CHECK(line.update("importing: 5 of 10 rows (50%)", t0 + 1s).empty());
    CHECK(line.updates() == 1);
}

TEST_CASE("progress: a new phase shows within the interval") {
    progress_line line(true, 100ms);
    CHECK_FALSE(line.update("reading: 99%", t0).empty());
    CHECK(line.update("checking: 12.0 MiB", t0 + 1ms, true) == "\r\033[Kchecking: 12.0 MiB");
    // The interval restarts at the phase's update.
    CHECK(line.update("checking: more", t0 + 50ms).empty());
    CHECK_FALSE(line.update("checking: more", t0 + 101ms).empty());
}

TEST_CASE("progress: clear erases a shown line once, and nothing when none is shown") {
    progress_line line(true, 100ms);
    CHECK(line.clear().empty());
    CHECK_FALSE(line.update("importing: 1 of 2 rows (50%)", t0).empty());
    CHECK(line.shown());
    CHECK(line.clear() == "\r\033[K");
    CHECK_FALSE(line.shown());
    CHECK(line.clear().empty());
    // After a clear (another line was written), the same text is shown again when due.
    CHECK(line.update("importing: 1 of 2 rows (50%)", t0 + 100ms) ==
          "\r\033[Kimporting: 1 of 2 rows (50%)");
}

TEST_CASE("progress: disabled (not a terminal), nothing is ever written") {
    progress_line line(false, 100ms);
    for (int i = 0; i < 5; ++i) {
        CHECK(line.update("reading", t0 + std::chrono::seconds(i), i == 3).empty());
    }
    CHECK(line.clear().empty());
    CHECK(line.updates() == 0);

    std::ostringstream out;
    {
        mgw::core::progress_writer writer(out, false);
        writer.show("reading: 1 rows", true);
    }
    CHECK(out.str().empty());
}

TEST_CASE("progress: the writer erases its line when it goes out of scope") {
    std::ostringstream out;
    {
        mgw::core::progress_writer writer(out, true);
        writer.show("reading: 1 rows");
    }
    CHECK(out.str() == "\r\033[Kreading: 1 rows\r\033[K");
}

TEST_CASE("progress: texts say done of total, in bytes or in things") {
    using namespace mgw::core;
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(std::uint64_t{12} << 20) == "12.0 MiB");
    CHECK(format_bytes(std::uint64_t{5} << 30) == "5.0 GiB");
    CHECK(format_bytes(~std::uint64_t{0}) == "16.0 EiB");
    CHECK(bytes_progress("reading", 1536, std::uint64_t{3} << 10) ==
          "reading: 1.5 KiB of 3.0 KiB (50%)");
    CHECK(bytes_progress("reading", 1536, 0) == "reading: 1.5 KiB");
    CHECK(bytes_progress("reading", 10, 10) == "reading: 10 B of 10 B (100%)");
    CHECK(count_progress("importing", 1234, 5000, "rows") == "importing: 1234 of 5000 rows (24%)");
    CHECK(count_progress("reading", 7, 0, "rows") == "reading: 7 rows");
    CHECK(count_progress("x", ~std::uint64_t{0} - 1, ~std::uint64_t{0}, "rows").ends_with("(99%)"));
}
