// The coroutine semaphore: capacity, hand-over on release, cancellation of a waiter.
#include <optional>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <mgw/scrape/concurrency_limit.hpp>

using mgw::scrape::concurrency_limit;
namespace asio = boost::asio;

namespace {

// poll() leaves the context stopped once it runs out of work; later polls need a restart.
void poll(asio::io_context& io) {
    io.restart();
    io.poll();
}

}  // namespace

TEST_CASE("concurrency limit grants up to its capacity and hands slots over in order") {
    asio::io_context io;
    concurrency_limit limit(io.get_executor(), 2);
    std::vector<std::optional<concurrency_limit::permit>> permits(4);
    std::vector<int> granted;
    for (int i = 0; i < 4; ++i) {
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                boost::system::error_code ec;
                auto p = co_await limit.acquire(ec);
                REQUIRE_FALSE(ec);
                granted.push_back(i);
                permits[i].emplace(std::move(p));
            },
            asio::detached);
    }
    poll(io);
    CHECK(granted == std::vector<int>{0, 1});
    CHECK(limit.in_use() == 2);

    permits[1].reset();  // a slot comes back: the oldest waiter gets it
    poll(io);
    CHECK(granted == std::vector<int>{0, 1, 2});
    CHECK(limit.in_use() == 2);

    permits[0].reset();
    permits[2].reset();
    poll(io);
    CHECK(granted == std::vector<int>{0, 1, 2, 3});
    CHECK(limit.in_use() == 1);
    permits[3].reset();
    CHECK(limit.in_use() == 0);
}

TEST_CASE("a waiter can be cancelled and does not take a slot") {
    asio::io_context io;
    concurrency_limit limit(io.get_executor(), 1);
    std::optional<concurrency_limit::permit> held;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            boost::system::error_code ec;
            held.emplace(co_await limit.acquire(ec));
        },
        asio::detached);
    poll(io);
    REQUIRE(held);
    REQUIRE(*held);

    asio::cancellation_signal signal;
    std::optional<boost::system::error_code> waiter_ec;
    bool waiter_got_permit = true;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            boost::system::error_code ec;
            auto p = co_await limit.acquire(ec);
            waiter_ec = ec;
            waiter_got_permit = static_cast<bool>(p);
        },
        asio::bind_cancellation_slot(signal.slot(), asio::detached));
    poll(io);
    CHECK_FALSE(waiter_ec);
    signal.emit(asio::cancellation_type::terminal);
    poll(io);
    REQUIRE(waiter_ec);
    CHECK(*waiter_ec == asio::error::operation_aborted);
    CHECK_FALSE(waiter_got_permit);

    held.reset();
    CHECK(limit.in_use() == 0);
    // The slot is free again for the next caller.
    bool next = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            boost::system::error_code ec;
            auto p = co_await limit.acquire(ec);
            next = static_cast<bool>(p);
        },
        asio::detached);
    poll(io);
    CHECK(next);
}
