// The platform-load benchmark's verdicts (bench/fleet/platform_load.hpp): the figure it reports
// is "the largest sustained app count", so what counts as complete, in time and sustained, and
// how instances up are counted in answers read in pieces, must be exactly what docs/BENCHMARKS.md
// says.
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "platform_load.hpp"

using namespace fleet_bench;

namespace {

const std::string merged_answer =
    "# TYPE mgw_scrape_up gauge\n"
    "mgw_scrape_up{app_name=\"a\",instance_id=\"0\"} 1\n"
    "http_requests_total{instance_id=\"0\"} 3\n"
    "mgw_scrape_up{app_name=\"a\",instance_id=\"1\"} 0\n"
    "mgw_scrape_up_not{instance_id=\"2\"} 0\n"
    "mgw_scrape_up{app_name=\"a\",instance_id=\"2\"} 1\n";

platform_answer good_answer(bool measured = true) {
    platform_answer a;
    a.measured = measured;
    a.status = 200;
    a.up = 10;
    a.finished = true;
    a.latency_s = 0.4;
    return a;
}

}  // namespace

TEST_CASE("up_counter counts mgw_scrape_up lines by value, wherever the answer is split") {
    for (std::size_t piece = 1; piece <= merged_answer.size(); ++piece) {
        up_counter counter;
        for (std::size_t at = 0; at < merged_answer.size(); at += piece) {
            counter.feed(std::string_view(merged_answer).substr(at, piece));
        }
        INFO("pieces of " << piece << " bytes");
        CHECK(counter.up() == 2);
        CHECK(counter.down() == 1);
    }
}

TEST_CASE("an answer is complete when read whole, 200, every instance up and none down") {
    const platform_answer a = good_answer();
    CHECK(answer_complete(a, 10));
    CHECK(answer_complete(a, std::nullopt));
    CHECK_FALSE(answer_complete(a, 9));

    platform_answer one_down = a;
    one_down.up = 9;
    one_down.down = 1;
    CHECK_FALSE(answer_complete(one_down, 10));
    CHECK_FALSE(answer_complete(one_down, std::nullopt));

    platform_answer error = a;
    error.status = 503;
    CHECK_FALSE(answer_complete(error, 10));

    platform_answer cut = a;
    cut.finished = false;
    CHECK_FALSE(answer_complete(cut, 10));

    platform_answer empty = a;
    empty.up = 0;
    CHECK_FALSE(answer_complete(empty, std::nullopt));
}

TEST_CASE("an answer is in time when its last byte came within the scrape timeout") {
    platform_answer a = good_answer();
    a.latency_s = 10.0;
    CHECK(answer_in_time(a, 10.0));
    a.latency_s = 10.001;
    CHECK_FALSE(answer_in_time(a, 10.0));
    platform_answer abandoned = good_answer();
    abandoned.timed_out = true;
    abandoned.finished = false;
    CHECK_FALSE(answer_in_time(abandoned, 10.0));
}

TEST_CASE("a step is sustained only with every measured answer good and the CPU in budget") {
    std::vector<platform_answer> answers(20, good_answer());
    const platform_verdict ok = judge_platform(answers, 10, 10.0, 0.8, 1.0);
    CHECK(ok.measured == 20);
    CHECK(ok.complete == 20);
    CHECK(ok.in_time == 20);
    CHECK(ok.sustained);

    SECTION("the gateway over its core budget") {
        const platform_verdict v = judge_platform(answers, 10, 10.0, 1.01, 1.0);
        CHECK(v.answers_ok);
        CHECK_FALSE(v.cpu_ok);
        CHECK_FALSE(v.sustained);
    }
    SECTION("the CPU could not be read") {
        CHECK_FALSE(judge_platform(answers, 10, 10.0, -1, 1.0).sustained);
    }
    SECTION("one late answer among them") {
        answers[7].latency_s = 10.5;
        const platform_verdict v = judge_platform(answers, 10, 10.0, 0.5, 1.0);
        CHECK(v.in_time == 19);
        CHECK(v.complete == 20);
        CHECK_FALSE(v.sustained);
    }
    SECTION("one abandoned and one failed answer") {
        answers[3].finished = false;
        answers[3].timed_out = true;
        answers[4].finished = false;
        answers[4].error = "request: connection reset";
        const platform_verdict v = judge_platform(answers, 10, 10.0, 0.5, 1.0);
        CHECK(v.timed_out == 1);
        CHECK(v.errors == 1);
        CHECK(v.complete == 18);
        CHECK_FALSE(v.sustained);
    }
    SECTION("the warm-up does not count, good or bad") {
        platform_answer bad_warmup = good_answer(false);
        bad_warmup.status = 503;
        answers.push_back(bad_warmup);
        const platform_verdict v = judge_platform(answers, 10, 10.0, 0.5, 1.0);
        CHECK(v.measured == 20);
        CHECK(v.sustained);
    }
    SECTION("no measured answer is no pass") {
        const std::vector<platform_answer> warmup_only(5, good_answer(false));
        CHECK_FALSE(judge_platform(warmup_only, 10, 10.0, 0.1, 1.0).sustained);
        CHECK_FALSE(judge_platform({}, 10, 10.0, 0.1, 1.0).sustained);
    }
}

TEST_CASE("scrape phases are stable per app and spread over the interval") {
    CHECK(scrape_phase_seconds("/v2/apps/o/s/plat-7/metrics", 15) ==
          scrape_phase_seconds("/v2/apps/o/s/plat-7/metrics", 15));
    // 500 apps over 15 s: every phase inside the interval, nearly all distinct, and every
    // 1.5 s tenth of the interval holding some (an even spread holds 50 in each).
    std::set<double> phases;
    std::vector<int> tenths(10, 0);
    for (int k = 0; k < 500; ++k) {
        const double phase = scrape_phase_seconds(
            "/v2/apps/bench-org/bench-space/plat-" + std::to_string(k) + "/metrics", 15);
        REQUIRE(phase >= 0);
        REQUIRE(phase < 15);
        phases.insert(phase);
        ++tenths[static_cast<std::size_t>(phase / 1.5)];
    }
    CHECK(phases.size() >= 495);
    for (const int count : tenths) {
        CHECK(count >= 25);
        CHECK(count <= 75);
    }
}
