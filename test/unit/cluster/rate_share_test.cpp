// Unit tests: cluster-wide rate limits' pure part, the mgw.<cluster>.rl codec (chunked under a
// payload limit) and the peers' count table (max merge, own echo ignored, expiry, sums).
#include "cluster/rate_share.hpp"

#include <catch2/catch.hpp>

using namespace mgw::cluster;

namespace {

constexpr std::int64_t w0 = 1'700'000'000'000;  // a window's start
constexpr std::int64_t w1 = w0 + 60'000;        // the next one

rate_report report(std::string node, std::string boot, std::vector<rate_count> counts) {
    return {.node = std::move(node), .boot = std::move(boot), .counts = std::move(counts)};
}

}  // namespace

TEST_CASE("rate reports round-trip, in messages under the payload limit") {
    std::vector<rate_count> counts;
    for (int i = 0; i < 200; ++i) {
        counts.push_back({.binding = "binding-" + std::to_string(i),
                          .window_start_ms = w0,
                          .requests = static_cast<std::uint32_t>(i),
                          .metrics = 4'000'000'000u});
    }
    std::size_t skipped = 7;
    const auto messages = encode_rate_reports("g1", "b00t", counts, 1024, &skipped);
    CHECK(skipped == 0);
    CHECK(messages.size() > 5);
    std::vector<rate_count> back;
    for (const std::string& m : messages) {
        CHECK(m.size() <= 1024);
        const auto decoded = decode_rate_report(m);
        REQUIRE(decoded);
        CHECK(decoded->node == "g1");
        CHECK(decoded->boot == "b00t");
        back.insert(back.end(), decoded->counts.begin(), decoded->counts.end());
    }
    CHECK(back == counts);

    // One message when it fits; none without counts; a binding id too long for any message is
    // left out and reported.
    CHECK(encode_rate_reports("g1", "b", counts, 1 << 20).size() == 1);
    CHECK(encode_rate_reports("g1", "b", {}, 1024).empty());
    const std::vector<rate_count> huge{{.binding = std::string(2000, 'x'), .window_start_ms = w0},
                                       {.binding = "ok", .window_start_ms = w0, .requests = 1}};
    const auto one = encode_rate_reports("g1", "b", huge, 1024, &skipped);
    CHECK(skipped == 1);
    REQUIRE(one.size() == 1);
    CHECK(decode_rate_report(one[0])->counts == std::vector<rate_count>{huge[1]});
}

TEST_CASE("malformed rate reports are refused") {
    CHECK_FALSE(decode_rate_report("not json"));
    CHECK_FALSE(decode_rate_report("[]"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b"})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"","boot":"b","counts":[]})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b","counts":[["x",1,2]]})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b","counts":[["x",1,-2,3]]})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b","counts":[["x",1,2,4294967296]]})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b","counts":[[1,1,2,3]]})"));
    CHECK_FALSE(decode_rate_report(R"({"node":"a","boot":"b","counts":[["x",1.5,2,3]]})"));
    const auto ok = decode_rate_report(R"({"node":"a","boot":"b","counts":[["x",5,2,3]]})");
    REQUIRE(ok);
    CHECK(ok->counts == std::vector<rate_count>{
                            {.binding = "x", .window_start_ms = 5, .requests = 2, .metrics = 3}});
}

TEST_CASE("the table keeps each peer's largest count and sums the peers, never itself") {
    rate_table table("g1", "self");
    // Our own echo is ignored.
    CHECK(table.merge(report("g1", "self", {{"b", w0, 50, 500}}), w0) == 0);
    CHECK(table.sum("b", w0).requests == 0);

    CHECK(table.merge(report("g2", "x", {{"b", w0, 3, 30}, {"c", w0, 1, 1}}), w0) == 2);
    CHECK(table.merge(report("g3", "y", {{"b", w0, 4, 40}}), w0) == 1);
    auto s = table.sum("b", w0);
    CHECK(s.requests == 7);
    CHECK(s.metrics == 70);

    // A late, older message never lowers a count; a newer one raises it.
    table.merge(report("g2", "x", {{"b", w0, 2, 20}}), w0);
    CHECK(table.sum("b", w0).requests == 7);
    table.merge(report("g2", "x", {{"b", w0, 5, 20}}), w0);
    s = table.sum("b", w0);
    CHECK(s.requests == 9);
    CHECK(s.metrics == 70);  // per field: 30 stays

    // A restarted peer (new boot id) and a previous run of this node count besides: their
    // admissions in this window happened.
    table.merge(report("g2", "x2", {{"b", w0, 1, 1}}), w0);
    table.merge(report("g1", "old", {{"b", w0, 2, 2}}), w0);
    CHECK(table.sum("b", w0).requests == 12);
    CHECK(table.size() == 5);  // b: g2/x, g3/y, g2/x2, g1/old; c: g2/x

    // Other bindings and windows are apart.
    CHECK(table.sum("c", w0).requests == 1);
    CHECK(table.sum("b", w1).requests == 0);
    CHECK(table.sum("nope", w0).requests == 0);

    // Counts saturate instead of wrapping.
    table.merge(report("g4", "z", {{"b", w0, 4'294'967'295u, 4'294'967'295u}}), w0);
    CHECK(table.sum("b", w0).requests == 4'294'967'295u);
}

TEST_CASE("peers' counts last until their window ends, even after the peer left") {
    rate_table table("g1", "self");
    table.merge(report("g2", "x", {{"b", w0, 3, 30}, {"b", w1, 1, 10}}), w0);
    CHECK(table.expire(w0) == 0);
    CHECK(table.sum("b", w0).requests == 3);
    // g2 says nothing more (it left): its count of w0 still holds in w0, and is gone in w1.
    CHECK(table.expire(w1) == 1);
    CHECK(table.sum("b", w0).requests == 0);
    CHECK(table.sum("b", w1).requests == 1);
    // A report of an ended window is not taken.
    CHECK(table.merge(report("g3", "y", {{"b", w0, 9, 9}}), w1) == 0);
    CHECK(table.size() == 1);
}

TEST_CASE("changed counts: what is new or differs since the last publication") {
    const std::vector<rate_count> before{{"a", w0, 1, 10}, {"b", w0, 2, 20}};
    CHECK(changed_counts(before, before).empty());
    const std::vector<rate_count> now{{"a", w0, 1, 10}, {"b", w0, 3, 20}, {"c", w0, 1, 1}};
    CHECK(changed_counts(before, now) ==
          std::vector<rate_count>{{"b", w0, 3, 20}, {"c", w0, 1, 1}});
    CHECK(changed_counts({}, now) == now);
    // A new window of the same binding is a change.
    CHECK(changed_counts(before, {{"a", w1, 1, 10}}) == std::vector<rate_count>{{"a", w1, 1, 10}});
}
