// A stream's send queue without a connection: messages (whole and gathered from pieces) are
// written into DATA frame payloads in any cut, and the leased bytes follow each message from
// queued to handed to confirmed or returned.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "grpc/send_queue.hpp"

using namespace mgw::grpc;
using mgw::core::memory_budget;
using mgw::core::memory_use;

namespace {

// A message gathered from three pieces that were never copied together.
struct gathered {
    std::shared_ptr<const std::array<std::string, 3>> pieces =
        std::make_shared<const std::array<std::string, 3>>(
            std::array<std::string, 3>{frame_message("abc").substr(0, 5), "ab", "c"});
    std::array<std::string_view, 2> more{(*pieces)[1], (*pieces)[2]};

    outgoing_message message() const { return outgoing_message{pieces, (*pieces)[0], more}; }
};

}  // namespace

TEST_CASE("the send queue writes whole and gathered messages in any cut of DATA frames") {
    memory_budget budget(1 << 20);
    const gathered g;
    const std::string expected = frame_message("first") + frame_message("abc");
    for (std::size_t cut = 1; cut <= expected.size(); ++cut) {
        send_queue q(budget.empty_lease(memory_use::grpc_streams));
        REQUIRE(q.push(outgoing_message::copy_of("first")));
        REQUIRE(q.push(g.message()));
        CHECK(q.queued_bytes() == expected.size());
        std::string out;
        while (q.unsent_bytes() > 0) {
            q.write(out, std::min(cut, q.unsent_bytes()));
        }
        CHECK(out == expected);
        CHECK(q.queued_bytes() == expected.size());  // handed, not yet confirmed
        CHECK(budget.leased() == expected.size());
        CHECK(q.confirm_written() == 2);
        CHECK(q.queued_bytes() == 0);
        CHECK(budget.leased() == 0);
        CHECK(q.confirm_written() == 0);
    }
}

TEST_CASE("a send queue refused by the budget leaves the message with the caller") {
    memory_budget budget(8);
    send_queue q(budget.empty_lease(memory_use::grpc_streams));
    outgoing_message m = outgoing_message::copy_of("larger than eight bytes");
    CHECK_FALSE(q.push(std::move(m)));
    CHECK(m.owner != nullptr);
    CHECK(q.queued_bytes() == 0);
    CHECK(budget.leased() == 0);
}

TEST_CASE("the send queue keeps a half-written message and gives back the ones not begun") {
    memory_budget budget(1 << 20);
    send_queue q(budget.empty_lease(memory_use::grpc_streams));
    REQUIRE(q.push(outgoing_message::copy_of("one")));
    REQUIRE(q.push(outgoing_message::copy_of("two")));
    REQUIRE(q.push(outgoing_message::copy_of("three")));
    std::string out;
    q.write(out, 2);  // into the first message
    const std::vector<outgoing_message> unstarted = q.take_unstarted();
    REQUIRE(unstarted.size() == 2);
    CHECK(unstarted[0].framed == frame_message("two"));
    CHECK(unstarted[1].framed == frame_message("three"));
    // The first message is still written to its end.
    CHECK(q.unsent_bytes() == frame_message("one").size() - 2);
    q.write(out, q.unsent_bytes());
    CHECK(out == frame_message("one"));
    CHECK(budget.leased() == frame_message("one").size());

    std::vector<outgoing_message> back;
    q.take_handed(back);
    q.take_queued(back);
    REQUIRE(back.size() == 1);
    CHECK(back[0].framed == frame_message("one"));
}

TEST_CASE("a closed stream's send queue returns handed messages before queued ones") {
    memory_budget budget(1 << 20);
    send_queue q(budget.empty_lease(memory_use::grpc_streams));
    REQUIRE(q.push(outgoing_message::copy_of("handed")));
    REQUIRE(q.push(outgoing_message::copy_of("queued")));
    std::string out;
    q.write(out, frame_message("handed").size() + 1);
    std::vector<outgoing_message> back;
    q.take_handed(back);
    q.take_queued(back);
    REQUIRE(back.size() == 2);
    CHECK(back[0].framed == frame_message("handed"));
    CHECK(back[1].framed == frame_message("queued"));
}
