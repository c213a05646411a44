// The connection state machine without sockets: bytes and events in, actions out, in the
// style of Boost.Redis's reader_fsm tests. Time is a value the test chooses.
#include "http/connection_machine.hpp"

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include <mgw/core/memory_budget.hpp>

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using mgw::http::clock;
using mgw::http::connection_machine;
using mgw::http::effects;
using mgw::http::rejection;
using mgw::http::request_context;
using mgw::http::response;
using mgw::http::route_options;
using mgw::http::router;
using mgw::http::server_options;
using mgw::http::verb;
using read_action = connection_machine::read_action;
using kind = connection_machine::answer_action::kind;
using reason = connection_machine::fallback_reason;

const clock::time_point t0 = clock::time_point{} + 1000h;

net::awaitable<void> never_run(request_context&, response&) {
    co_return;
}

router test_routes() {
    router r;
    r.add(verb::get, "/hello", never_run, route_options("/hello"));
    r.add(verb::post, "/echo", never_run, route_options("/echo"));
    r.add(verb::post, "/small", never_run, route_options("/small", 10));
    r.add(verb::post, "/large", never_run, route_options("/large", 4u << 20));
    r.add(verb::get, "/events", never_run, route_options("/events", {}, clock::duration::zero()));
    return r;
}

// A machine and the bytes a test feeds it, as the shell would.
struct fixture {
    server_options options;
    router routes = test_routes();
    mgw::core::memory_budget* memory = nullptr;
    std::optional<connection_machine> m;

    explicit fixture(server_options o = {}, mgw::core::memory_budget* budget = nullptr)
        : options(std::move(o)), memory(budget) {
        m.emplace(options, routes, memory, t0);
    }

    // Delivers `bytes` in reads of `step` bytes, as long as the machine asks to read.
    read_action feed(std::string_view bytes, std::size_t step = SIZE_MAX,
                     clock::time_point now = t0) {
        read_action next = m->next_read(now);
        while (!bytes.empty() && next == read_action::read) {
            auto buffer = m->read_buffer();
            const std::size_t n = std::min({step, bytes.size(), buffer.size()});
            std::memcpy(buffer.data(), bytes.data(), n);
            bytes.remove_prefix(n);
            m->on_read(n, {}, now);
            next = m->next_read(now);
        }
        return next;
    }

    connection_machine::answer_action answer(clock::time_point now = t0) {
        return m->next_answer(now);
    }

    // Runs a handler that returns a small complete body, writes it, and ends the exchange.
    connection_machine::answer_action serve_complete(clock::time_point now = t0) {
        auto next = m->on_handler_done({.body_bytes = 5});
        REQUIRE(next.type == kind::write);
        m->on_write_started(now);
        m->on_write_done({});
        m->on_answer_written({});
        return m->end_exchange(now);
    }
};

constexpr std::string_view get_hello = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace

TEST_CASE("machine: a request fed one byte at a time becomes one handler run") {
    fixture f;
    CHECK(f.answer().type == kind::wait);
    const std::string bytes(get_hello);
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
        CHECK(f.feed(bytes.substr(i, 1)) == read_action::read);
        CHECK(f.m->queued() == 0);
    }
    CHECK(f.feed(bytes.substr(bytes.size() - 1)) == read_action::read);
    REQUIRE(f.m->queued() == 1);
    auto next = f.answer();
    CHECK(next.type == kind::run_handler);
    CHECK(f.m->current().target.path == "/hello");
    CHECK(f.m->current().keep_alive);
    CHECK(f.m->handler_running());
    next = f.serve_complete();
    CHECK(next.type == kind::wait);
    CHECK(f.m->queued() == 0);
}

TEST_CASE("machine: the smuggling attempt is one 400 and nothing after it is read") {
    fixture f;
    const std::string smuggled = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    const std::string bytes =
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n" + smuggled;
    for (const std::size_t step : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
        fixture g;
        CHECK(g.feed(bytes, step) == read_action::stop);
        REQUIRE(g.m->queued() == 1);
        auto next = g.answer();
        CHECK(next.type == kind::refuse);
        CHECK(next.status == mgw::http::status::bad_request);
        CHECK_FALSE(next.keep_alive);
        CHECK(*g.m->current().refused == rejection::bad_request);
        g.m->on_answer_written({});
        next = g.m->end_exchange(t0);
        // The reader stopped, so the connection lingers and closes: no second exchange.
        CHECK(next.type == kind::linger);
        CHECK(g.m->queued() == 0);
        g.m->on_lingered();
        CHECK(g.m->closed());
        CHECK(g.answer().type == kind::done);
    }
}

TEST_CASE("machine: framing violations are refused with their status") {
    struct refusal_case {
        std::string bytes;
        mgw::http::status status;
    };
    const std::vector<refusal_case> cases{
        {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
         mgw::http::status::bad_request},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         mgw::http::status::not_implemented},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
         mgw::http::status::bad_request},
        {"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", mgw::http::status::bad_request},
        {"GET /hello HTTP/1.1\r\n\r\n", mgw::http::status::bad_request},
        {"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", mgw::http::status::http_version_not_supported},
        {"GET /hello HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", mgw::http::status::bad_request},
        {"GET http://evil/ HTTP/1.1\r\nHost: t\r\n\r\n", mgw::http::status::bad_request},
        {"GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n",
         mgw::http::status::request_header_fields_too_large},
    };
    for (const auto& c : cases) {
        INFO(c.bytes.substr(0, 80));
        fixture f;
        CHECK(f.feed(c.bytes, 3) == read_action::stop);
        REQUIRE(f.m->queued() == 1);
        const auto next = f.answer();
        CHECK(next.type == kind::refuse);
        CHECK(next.status == c.status);
    }
}

TEST_CASE("machine: empty lines before a request line are skipped, a flood of them is not") {
    fixture f;
    CHECK(f.feed("\r\n\r\n" + std::string(get_hello), 1) == read_action::read);
    CHECK(f.m->queued() == 1);

    fixture g;
    std::string flood;
    for (int i = 0; i < 100; ++i) {
        flood += "\r\n";
    }
    CHECK(g.feed(flood) == read_action::stop);
    CHECK(g.answer().status == mgw::http::status::bad_request);
}

TEST_CASE("machine: pipelined requests are read ahead up to max_pipelined") {
    server_options o;
    o.max_pipelined = 2;
    fixture f(o);
    std::string three;
    for (int i = 0; i < 3; ++i) {
        three += get_hello;
    }
    // One read brings all three; only two are taken from the buffer.
    CHECK(f.feed(three) == read_action::wait);
    CHECK(f.m->queued() == 2);
    CHECK(f.answer().type == kind::run_handler);
    CHECK(f.serve_complete().type == kind::run_handler);
    // The answer made room: the third comes out of the buffer without another read, and the
    // queue is full again.
    CHECK(f.m->next_read(t0) == read_action::wait);
    CHECK(f.m->queued() == 2);
    CHECK(f.serve_complete().type == kind::run_handler);
    CHECK(f.m->next_read(t0) == read_action::read);
    CHECK(f.m->queued() == 1);
}

TEST_CASE("machine: read-ahead is bounded in bytes too") {
    server_options o;
    o.max_pipelined_bytes = 1000;
    fixture f(o);
    const std::string body(2000, 'x');
    const std::string post =
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + body;
    CHECK(f.feed(post + std::string(get_hello)) == read_action::wait);
    CHECK(f.m->queued() == 1);
    CHECK(f.m->held_bytes() >= 2000);
    CHECK(f.answer().type == kind::run_handler);
    CHECK(f.serve_complete().type == kind::wait);
    CHECK(f.m->next_read(t0) == read_action::read);
    CHECK(f.m->queued() == 1);
    CHECK(f.m->current().target.path == "/hello");
}

TEST_CASE("machine: a body over the route's limit is a 413 that knows its route") {
    for (const std::string& body : {std::string("Content-Length: 11\r\n\r\n01234567890"),
                                    std::string("Transfer-Encoding: chunked\r\n\r\n"
                                                "8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n")}) {
        fixture f;
        CHECK(f.feed("POST /small HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n" + body, 1) ==
              read_action::stop);
        REQUIRE(f.m->queued() == 1);
        const auto next = f.answer();
        CHECK(next.type == kind::refuse);
        CHECK(next.status == mgw::http::status::payload_too_large);
        // The route's on_refused hook gets the route and the refused request's fields.
        REQUIRE(f.m->current().match.route != nullptr);
        CHECK(f.m->current().match.route->options.name == "/small");
        CHECK(f.m->current().request["X-Key"] == "k");
    }
}

TEST_CASE("machine: a route's limit above the server's default admits a larger body") {
    server_options o;
    o.body_limit = 1000;
    fixture f(o);
    const std::string body(3000, 'x');
    f.feed("POST /large HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" + body);
    REQUIRE(f.m->queued() == 1);
    CHECK(f.answer().type == kind::run_handler);
    CHECK(f.m->current().request.body().size() == 3000);
    // The server's default still holds where no route says otherwise.
    fixture g(o);
    g.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" + body);
    CHECK(g.answer().status == mgw::http::status::payload_too_large);
}

TEST_CASE("machine: a chunk line or trailer longer than the header limit is refused") {
    server_options o;
    o.header_limit = 1024;
    fixture f(o);
    const std::string head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(f.feed(head + "1;" + std::string(4000, 'e'), 100) == read_action::stop);
    CHECK(f.answer().status == mgw::http::status::bad_request);

    fixture g(o);
    CHECK(g.feed(head + "0\r\nX-Trailer: " + std::string(4000, 't'), 100) == read_action::stop);
    CHECK(g.answer().status == mgw::http::status::bad_request);
    CHECK(g.m->held_bytes() < 64 * 1024 + 8 * 1024);
}

TEST_CASE("machine: Expect 100-continue is answered before the body when nothing else is") {
    fixture f;
    CHECK(f.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue"
                 "\r\n\r\n") == read_action::send_continue);
    f.m->on_write_started(t0);
    f.m->on_write_done({});
    f.m->on_continue_written({});
    CHECK(f.feed("abc") == read_action::read);
    REQUIRE(f.m->queued() == 1);
    CHECK(f.m->current().request.body() == "abc");
}

TEST_CASE("machine: the idle deadline closes without counting, a slow body is counted") {
    server_options o;
    o.idle_timeout = 60s;
    o.request_timeout = 30s;
    fixture f(o);
    CHECK(f.m->deadline() == t0 + 60s);
    CHECK_FALSE(f.m->on_deadline(t0 + 59s).close);
    effects fx = f.m->on_deadline(t0 + 60s);
    CHECK(fx.close);
    CHECK_FALSE(fx.counted);
    CHECK(f.m->closed());

    fixture g(o);
    g.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", SIZE_MAX, t0 + 5s);
    CHECK(g.m->deadline() == t0 + 35s);
    fx = g.m->on_deadline(t0 + 35s);
    CHECK(fx.close);
    CHECK(fx.counted == rejection::request_timeout);
}

TEST_CASE("machine: a trickled head must arrive within the request deadline of its first byte") {
    server_options o;
    o.idle_timeout = 60s;
    o.request_timeout = 30s;
    fixture f(o);
    // A slowloris client: the first bytes at 2 s, then a field line every second.
    f.feed("GET /hello HTTP/1.1\r\n", SIZE_MAX, t0 + 2s);
    CHECK(f.m->deadline() == t0 + 32s);
    for (int i = 0; i < 20; ++i) {
        f.feed("X-Slow: a\r\n", SIZE_MAX, t0 + 3s + std::chrono::seconds(i));
    }
    CHECK(f.m->deadline() == t0 + 32s);  // more bytes do not move it
    CHECK_FALSE(f.m->on_deadline(t0 + 31s).close);
    const effects fx = f.m->on_deadline(t0 + 32s);
    CHECK(fx.close);
    CHECK(fx.counted == rejection::request_timeout);

    // The idle deadline still bounds a head that began late.
    fixture g(o);
    g.feed("GET /hel", SIZE_MAX, t0 + 50s);
    CHECK(g.m->deadline() == t0 + 60s);

    // A completed head ends the head's deadline; the next request's first byte starts its own.
    fixture h(o);
    h.feed("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", SIZE_MAX, t0 + 1s);
    CHECK(h.answer(t0 + 1s).type == kind::run_handler);
    h.m->on_handler_done({.body_bytes = 1});
    h.m->on_answer_written({});
    CHECK(h.m->end_exchange(t0 + 2s).type == kind::wait);
    CHECK(h.m->deadline() == t0 + 62s);
    h.feed("GET /hello HTTP/1.1\r\n", SIZE_MAX, t0 + 40s);
    CHECK(h.m->deadline() == t0 + 62s);  // the idle deadline comes first
    h.feed("Host: t\r\n", SIZE_MAX, t0 + 41s);
    CHECK(h.m->deadline() == t0 + 62s);
}

TEST_CASE("machine: a handler past its deadline is cancelled, then answered 503, then closed") {
    server_options o;
    o.request_timeout = 30s;
    o.cancel_grace = 1s;
    fixture f(o);
    f.feed(get_hello);
    CHECK(f.answer().type == kind::run_handler);
    CHECK(f.m->deadline() == t0 + 30s);
    effects fx = f.m->on_deadline(t0 + 30s);
    CHECK(fx.cancel == net::cancellation_type::terminal);
    CHECK(fx.counted == rejection::request_timeout);
    CHECK_FALSE(fx.close);
    CHECK(f.m->deadline() == t0 + 31s);
    auto next = f.m->on_handler_done({});
    CHECK(next.type == kind::fallback);
    CHECK(next.status == mgw::http::status::service_unavailable);
    CHECK(next.reason == reason::timed_out);
    CHECK_FALSE(next.keep_alive);
    f.m->on_answer_written({});
    CHECK(f.m->end_exchange(t0 + 30s).type == kind::close);
}

TEST_CASE("machine: a handler that throws gets a 500 and the connection stays open") {
    fixture f;
    f.feed(get_hello);
    CHECK(f.answer().type == kind::run_handler);
    auto next = f.m->on_handler_done({.threw = true});
    CHECK(next.type == kind::fallback);
    CHECK(next.status == mgw::http::status::internal_server_error);
    CHECK(next.keep_alive);
    f.m->on_answer_written({});
    CHECK(f.m->end_exchange(t0).type == kind::wait);
}

TEST_CASE("machine: a client that does not take a write is cut at the write deadline") {
    server_options o;
    o.write_timeout = 10s;
    o.request_timeout = clock::duration::zero();  // even with no request deadline (streams)
    fixture f(o);
    f.feed("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(f.answer().type == kind::run_handler);
    CHECK(f.m->deadline() == clock::time_point::max());
    const auto framing = f.m->on_stream_head(true, false);
    CHECK(framing.chunked);
    CHECK(framing.keep_alive);
    f.m->on_write_started(t0 + 100s);
    CHECK(f.m->deadline() == t0 + 110s);
    f.m->on_write_done({});
    CHECK(f.m->deadline() == clock::time_point::max());
    f.m->on_write_started(t0 + 200s);
    CHECK_FALSE(f.m->on_deadline(t0 + 209s).close);
    const effects fx = f.m->on_deadline(t0 + 210s);
    CHECK(fx.close);
    CHECK(fx.counted == rejection::write_timeout);
    CHECK(fx.cancel == net::cancellation_type::terminal);
    f.m->on_write_done(net::error::operation_aborted);
    const auto next = f.m->on_handler_done({.streaming = true});
    CHECK(next.type == kind::end);
    CHECK_FALSE(next.keep_alive);
    CHECK(f.m->end_exchange(t0 + 210s).type == kind::done);
}

TEST_CASE("machine: HTTP/1.0 streams end with the connection, requests are not kept alive") {
    fixture f;
    CHECK(f.feed("GET /hello HTTP/1.0\r\n\r\n") == read_action::stop);
    CHECK(f.answer().type == kind::run_handler);
    const auto framing = f.m->on_stream_head(true, false);
    CHECK_FALSE(framing.chunked);
    CHECK_FALSE(framing.keep_alive);
    auto next = f.m->on_handler_done({.streaming = true});
    CHECK(next.type == kind::finish_stream);
    f.m->on_stream_finished(true);
    CHECK(f.m->end_exchange(t0).type == kind::linger);
}

TEST_CASE("machine: drain closes an idle connection at once, a busy one after its answer") {
    fixture f;
    CHECK(f.m->on_drain().close);

    fixture g;
    g.feed(get_hello);
    CHECK(g.answer().type == kind::run_handler);
    CHECK_FALSE(g.m->on_drain().close);
    auto next = g.m->on_handler_done({.body_bytes = 1});
    CHECK(next.type == kind::write);
    CHECK_FALSE(next.keep_alive);
    g.m->on_answer_written({});
    CHECK(g.m->end_exchange(t0).type == kind::close);
}

TEST_CASE("machine: total cancellation reaches a running handler, otherwise closes") {
    fixture f;
    f.feed(get_hello);
    CHECK(f.answer().type == kind::run_handler);
    effects fx = f.m->on_cancel(net::cancellation_type::total);
    CHECK(fx.cancel == net::cancellation_type::total);
    CHECK_FALSE(fx.close);
    fx = f.m->on_cancel(net::cancellation_type::terminal);
    CHECK(fx.cancel == net::cancellation_type::terminal);
    CHECK(fx.close);
}

TEST_CASE("machine: a peer that goes away cancels the running handler") {
    fixture f;
    f.feed(get_hello);
    CHECK(f.answer().type == kind::run_handler);
    const effects fx = f.m->on_read(0, net::error::eof, t0);
    CHECK(fx.cancel == net::cancellation_type::terminal);
    CHECK(f.m->next_read(t0) == read_action::stop);
    const auto next = f.m->on_handler_done({.body_bytes = 1});
    CHECK_FALSE(next.keep_alive);
}

TEST_CASE("machine: requests and answers lease their bytes and give them back") {
    mgw::core::memory_budget budget(1u << 20);
    fixture f({}, &budget);
    f.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n" +
           std::string(50000, 'x'));
    REQUIRE(f.m->queued() == 1);
    CHECK(budget.leased(mgw::core::memory_use::request_bodies) >=
          50000 - connection_machine::unleased_request_bytes);
    CHECK(f.answer().type == kind::run_handler);
    auto next = f.m->on_handler_done({.body_bytes = 200'000});
    CHECK(next.type == kind::write);
    CHECK(budget.leased(mgw::core::memory_use::http_answer) ==
          200'000 - connection_machine::unleased_answer_bytes);
    f.m->on_answer_written({});
    CHECK(f.m->end_exchange(t0).type == kind::wait);
    CHECK(budget.leased(mgw::core::memory_use::http_answer) == 0);
    CHECK(budget.leased(mgw::core::memory_use::request_bodies) == 0);
    f.m->on_drain();
    f.m.reset();
    CHECK(budget.leased() == 0);
}

TEST_CASE("machine: the memory ceiling refuses a request or an answer with 503") {
    mgw::core::memory_budget budget(64 * 1024);
    {
        fixture f({}, &budget);
        CHECK(f.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 500000\r\n\r\n") ==
              read_action::stop);
        const auto next = f.answer();
        CHECK(next.type == kind::refuse);
        CHECK(next.status == mgw::http::status::service_unavailable);
        CHECK(*f.m->current().refused == rejection::memory);
        CHECK(budget.refusals(mgw::core::memory_use::request_bodies) == 1);
    }
    {
        fixture f({}, &budget);
        f.feed(get_hello);
        CHECK(f.answer().type == kind::run_handler);
        const auto next = f.m->on_handler_done({.body_bytes = 1'000'000});
        CHECK(next.type == kind::fallback);
        CHECK(next.reason == reason::memory);
        CHECK(next.status == mgw::http::status::service_unavailable);
        CHECK(next.keep_alive);  // the next request may find room
        CHECK(budget.refusals(mgw::core::memory_use::http_answer) == 1);
    }
    CHECK(budget.leased() == 0);
}

TEST_CASE("machine: a full budget still reads and answers a health check, and refuses with 413") {
    mgw::core::memory_budget budget(64 * 1024);
    // Whatever filled it (non-reading clients of big answers, say) holds every byte.
    auto hog = budget.try_lease(mgw::core::memory_use::scrape_bodies, 64 * 1024);
    REQUIRE(hog);
    {
        fixture f({}, &budget);
        f.feed(get_hello);
        CHECK(f.answer().type == kind::run_handler);
        CHECK(f.m->on_handler_done({.body_bytes = 3}).type == kind::write);
    }
    {
        // An announced body past the route's limit is refused for its size, before any lease.
        fixture f({}, &budget);
        CHECK(f.feed("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n") ==
              read_action::stop);
        const auto next = f.answer();
        CHECK(next.type == kind::refuse);
        CHECK(next.status == mgw::http::status::payload_too_large);
    }
    {
        // A body that needs room is still the budget's to refuse.
        fixture f({}, &budget);
        CHECK(f.feed("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 500000\r\n\r\n") ==
              read_action::stop);
        CHECK(f.answer().status == mgw::http::status::service_unavailable);
    }
    CHECK(budget.refusals(mgw::core::memory_use::http_answer) == 0);
}
