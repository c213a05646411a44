// Unit tests: the gather state machine (expected peers, chunks in any order, duplicates, size
// cap, peers that leave, complete and partial endings) and the chunk codec it is fed from.
#include "cluster/gather.hpp"

#include <catch2/catch.hpp>

#include "cluster/wire.hpp"

using mgw::cluster::chunk_header;
using mgw::cluster::chunk_verdict;
using mgw::cluster::gather_state;
using mgw::cluster::missing_reason;

namespace {

chunk_header chunk(std::string node, std::uint32_t seq, bool last, std::string request = "7") {
    return {.node = std::move(node), .request = std::move(request), .seq = seq, .last = last};
}

}  // namespace

TEST_CASE("chunks in any order complete a peer, and every peer completes the gather") {
    gather_state g("7", {"n2", "n3"}, 1 << 20);
    CHECK_FALSE(g.complete());
    CHECK(g.on_chunk(chunk("n2", 2, true), "C") == chunk_verdict::accepted);
    CHECK(g.on_chunk(chunk("n2", 0, false), "A") == chunk_verdict::accepted);
    CHECK_FALSE(g.complete());
    CHECK(g.on_chunk(chunk("n3", 0, true), "") == chunk_verdict::accepted);
    CHECK_FALSE(g.complete());
    CHECK(g.on_chunk(chunk("n2", 1, false), "B") == chunk_verdict::accepted);
    CHECK(g.complete());
    const auto result = g.finish();
    CHECK_FALSE(result.partial());
    REQUIRE(result.answers.size() == 2);
    CHECK(result.answers[0].node == "n2");
    CHECK(result.answers[0].text == "ABC");
    CHECK(result.answers[1].node == "n3");
    CHECK(result.answers[1].text.empty());
}

TEST_CASE("duplicates, other requests, strangers and inconsistent chunks are not taken") {
    gather_state g("7", {"n2"}, 1 << 20);
    CHECK(g.on_chunk(chunk("n2", 0, false), "A") == chunk_verdict::accepted);
    CHECK(g.on_chunk(chunk("n2", 0, false), "X") == chunk_verdict::duplicate);
    CHECK(g.on_chunk(chunk("n2", 0, false, "6"), "X") == chunk_verdict::other_request);
    CHECK(g.on_chunk(chunk("n9", 0, true), "X") == chunk_verdict::unexpected_node);
    CHECK(g.on_chunk(chunk("n2", 3, false), "D") == chunk_verdict::accepted);
    // A last chunk below a seq already seen contradicts it.
    CHECK(g.on_chunk(chunk("n2", 2, true), "X") == chunk_verdict::inconsistent);
    CHECK(g.on_chunk(chunk("n2", 4, true), "E") == chunk_verdict::accepted);
    CHECK(g.on_chunk(chunk("n2", 5, false), "X") == chunk_verdict::inconsistent);
    CHECK(g.on_chunk(chunk("n2", 1, false), "B") == chunk_verdict::accepted);
    CHECK(g.on_chunk(chunk("n2", 2, false), "C") == chunk_verdict::accepted);
    CHECK(g.complete());
    CHECK(g.on_chunk(chunk("n2", 2, false), "C") == chunk_verdict::duplicate);
    const auto result = g.finish();
    REQUIRE(result.answers.size() == 1);
    CHECK(result.answers[0].text == "ABCDE");
}

TEST_CASE("at the deadline the peers still open are missing: a partial answer") {
    gather_state g("7", {"n2", "n3", "n4"}, 1 << 20);
    g.on_chunk(chunk("n2", 0, true), "two");
    g.on_chunk(chunk("n3", 0, false), "half");  // its last chunk never comes
    CHECK_FALSE(g.complete());
    const auto result = g.finish();
    CHECK(result.partial());
    REQUIRE(result.answers.size() == 1);
    CHECK(result.answers[0].node == "n2");
    REQUIRE(result.missing.size() == 2);
    CHECK(result.missing[0].node == "n3");
    CHECK(result.missing[0].reason == missing_reason::deadline);
    CHECK(result.missing[1].node == "n4");
}

TEST_CASE("a peer that leaves is not waited for, and its later chunks are refused") {
    gather_state g("7", {"n2", "n3"}, 1 << 20);
    g.on_chunk(chunk("n2", 0, true), "two");
    g.on_peer_left("n3");
    CHECK(g.complete());
    CHECK(g.on_chunk(chunk("n3", 0, true), "late") == chunk_verdict::after_peer_gone);
    g.on_peer_left("n2");  // done already: stays an answer
    const auto result = g.finish();
    REQUIRE(result.answers.size() == 1);
    REQUIRE(result.missing.size() == 1);
    CHECK(result.missing[0].reason == missing_reason::left);
}

TEST_CASE("a peer sending more than the cap is dropped whole") {
    gather_state g("7", {"n2"}, 4);
    CHECK(g.on_chunk(chunk("n2", 0, false), "abc") == chunk_verdict::accepted);
    CHECK(g.on_chunk(chunk("n2", 1, true), "de") == chunk_verdict::too_large);
    CHECK(g.complete());
    const auto result = g.finish();
    CHECK(result.answers.empty());
    REQUIRE(result.missing.size() == 1);
    CHECK(result.missing[0].reason == missing_reason::too_large);
}

TEST_CASE("a peer given up for memory is missing with that reason") {
    gather_state g("7", {"n2", "n3"}, 1 << 20);
    CHECK(g.on_chunk(chunk("n2", 0, false), "abc") == chunk_verdict::accepted);
    g.give_up("n2", missing_reason::memory);
    CHECK(g.on_chunk(chunk("n2", 1, true), "d") == chunk_verdict::after_peer_gone);
    g.on_chunk(chunk("n3", 0, true), "three");
    CHECK(g.complete());
    const auto result = g.finish();
    REQUIRE(result.answers.size() == 1);
    CHECK(result.answers[0].node == "n3");
    REQUIRE(result.missing.size() == 1);
    CHECK(result.missing[0].reason == missing_reason::memory);
    CHECK(mgw::cluster::to_string(missing_reason::memory) == "memory");
}

TEST_CASE("a gather without peers is complete at once") {
    gather_state g("7", {}, 1 << 20);
    CHECK(g.complete());
    CHECK_FALSE(g.finish().partial());
}

TEST_CASE("a reply split into chunks and sent in reverse order is rebuilt byte for byte") {
    std::string text;
    for (int i = 0; i < 1000; ++i) {
        text += "series_" + std::to_string(i) + "{a=\"b\"} " + std::to_string(i) + "\n";
    }
    const auto pieces = mgw::cluster::split_chunks(text, 1000);
    REQUIRE(pieces.size() > 3);
    for (const auto& piece : pieces) {
        CHECK(piece.size() <= 1000);
    }
    std::vector<std::string> messages;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        messages.push_back(mgw::cluster::encode_chunk(
            chunk("n2", static_cast<std::uint32_t>(i), i + 1 == pieces.size()), pieces[i]));
    }
    gather_state g("7", {"n2"}, 1 << 20);
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        const auto decoded = mgw::cluster::decode_chunk(*it);
        REQUIRE(decoded);
        CHECK(g.on_chunk(decoded->header, decoded->payload) == chunk_verdict::accepted);
    }
    CHECK(g.complete());
    CHECK(g.finish().answers.at(0).text == text);
    CHECK(mgw::cluster::split_chunks("", 10).size() == 1);
    CHECK(mgw::cluster::split_chunks("abcdefghij", 10).size() == 1);
    CHECK(mgw::cluster::split_chunks("abcdefghijk", 10).size() == 2);
}
