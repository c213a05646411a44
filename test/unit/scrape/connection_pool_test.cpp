// Keep-alive pool bookkeeping (no sockets are opened: the streams are never connected).
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <mgw/scrape/connection_pool.hpp>

using namespace mgw::scrape;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::unique_ptr<connection> make_connection(boost::asio::io_context& io) {
    return std::make_unique<connection>(boost::beast::tcp_stream(io));
}

const endpoint_key key_a{"10.0.0.1", 8080, false, ""};
const endpoint_key key_a_tls{"10.0.0.1", 8080, true, "guid-a"};
const endpoint_key key_b{"10.0.0.2", 8080, false, ""};

}  // namespace

TEST_CASE("pool hands back the connection released for the same endpoint only") {
    boost::asio::io_context io;
    connection_pool pool;
    const auto now = clock_type::now();
    CHECK(pool.acquire(key_a, now) == nullptr);

    auto conn = make_connection(io);
    connection* raw = conn.get();
    CHECK(pool.release(key_a, std::move(conn), now));
    CHECK(pool.idle_count() == 1);
    CHECK(pool.acquire(key_b, now) == nullptr);
    CHECK(pool.acquire(key_a_tls, now) == nullptr);
    auto back = pool.acquire(key_a, now);
    CHECK(back.get() == raw);
    CHECK(pool.idle_count() == 0);
    CHECK(pool.acquire(key_a, now) == nullptr);  // one user at a time
}

TEST_CASE("pool returns the most recently used connection first") {
    boost::asio::io_context io;
    connection_pool pool;
    const auto now = clock_type::now();
    auto first = make_connection(io);
    auto second = make_connection(io);
    connection* second_raw = second.get();
    pool.release(key_a, std::move(first), now);
    pool.release(key_a, std::move(second), now + 1s);
    CHECK(pool.acquire(key_a, now + 2s).get() == second_raw);
}

TEST_CASE("pool bounds idle connections per endpoint and in total") {
    boost::asio::io_context io;
    connection_pool pool(pool_limits{2, 3, 30s});
    const auto now = clock_type::now();
    CHECK(pool.release(key_a, make_connection(io), now));
    CHECK(pool.release(key_a, make_connection(io), now));
    CHECK_FALSE(pool.release(key_a, make_connection(io), now));
    CHECK(pool.release(key_b, make_connection(io), now));
    CHECK_FALSE(pool.release(key_a_tls, make_connection(io), now));
    CHECK(pool.idle_count() == 3);
}

TEST_CASE("pool never hands out an expired connection and sweeps them") {
    boost::asio::io_context io;
    connection_pool pool(pool_limits{4, 100, 10s});
    const auto now = clock_type::now();
    pool.release(key_a, make_connection(io), now);
    CHECK(pool.acquire(key_a, now + 10s) == nullptr);
    CHECK(pool.idle_count() == 0);

    pool.release(key_a, make_connection(io), now);
    pool.release(key_a, make_connection(io), now + 5s);
    pool.release(key_b, make_connection(io), now);
    pool.sweep(now + 12s);
    CHECK(pool.idle_count() == 1);
    CHECK(pool.acquire(key_b, now + 12s) == nullptr);
    CHECK(pool.acquire(key_a, now + 12s) != nullptr);
    pool.sweep(now + 1h);
    CHECK(pool.idle_count() == 0);
}
