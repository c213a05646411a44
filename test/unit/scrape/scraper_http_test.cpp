// The scraper against in-process HTTP servers on 127.0.0.1: outcomes, limits, redirects,
// keep-alive reuse, concurrency bound, deadlines, cancellation and the headers sent.
#include <cstdlib>
#include <future>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/compression/gzip.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/content_type.hpp>
#include <mgw/scrape/request_headers.hpp>

#include "scrape/redirect.hpp"
#include "scraper_fixture.hpp"
#include "test_server.hpp"

using namespace mgw::scrape;
using namespace mgw::scrape::test;

namespace {

const std::string metrics_body =
    "# HELP up Whether up.\n# TYPE up gauge\nup 1\nhttp_requests_total{code=\"200\"} 1027\n";

std::string chunked(std::string_view body, std::size_t piece) {
    std::string out;
    for (std::size_t pos = 0; pos < body.size(); pos += piece) {
        const auto part = body.substr(pos, piece);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        out += size;
        out += part;
        out += "\r\n";
    }
    return out + "0\r\n\r\n";
}

}  // namespace

TEST_CASE_METHOD(scraper_fixture, "scrape: 200 plain body, headers sent to the instance") {
    test_server server(io, [](const request_info&) {
        return reply{response(200, metrics_body, "Content-Type: text/plain; version=0.0.4\r\n")};
    });
    auto s = make_scraper();
    auto options = options_for(5000ms);
    const auto results = scrape(*s, {local_target(server.port())}, options);
    REQUIRE(results.size() == 1);
    const scrape_result& r = results[0];
    CHECK(r.ok());
    CHECK(r.status == 200);
    CHECK(r.body == metrics_body);
    CHECK(r.content_type == "text/plain; version=0.0.4");
    CHECK(r.wire_bytes == metrics_body.size());
    CHECK(r.reason.empty());
    CHECK(r.duration > 0ms);
    CHECK(r.duration < 5000ms);

    const auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "/metrics");
    CHECK(seen[0].get("host") == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen[0].get("accept") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(seen[0].get("accept-encoding") == "gzip");
    CHECK(seen[0].get("user-agent") == "metrics-gateway");
    // The timeout header says how long the instance really has: a little under 5 s.
    const double timeout =
        std::strtod(seen[0].get("x-prometheus-scrape-timeout-seconds").c_str(), nullptr);
    CHECK(timeout > 4.0);
    CHECK(timeout <= 5.0);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: v1 Accept and custom metric path are sent") {
    test_server server(io, [](const request_info&) { return reply{response(200, "a 1\n")}; });
    auto s = make_scraper();
    auto options = options_for();
    options.accept = std::string(mgw::exposition::promfetcher_v1_accept);
    options.accept_gzip = false;
    const auto results =
        scrape(*s, {local_target(server.port(), "/actuator/prometheus?x=1")}, options);
    CHECK(results.at(0).ok());
    const auto seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "/actuator/prometheus?x=1");
    CHECK(seen[0].get("accept") == mgw::exposition::promfetcher_v1_accept);
    CHECK_FALSE(seen[0].has("accept-encoding"));
}

TEST_CASE_METHOD(scraper_fixture, "scrape: forwarded headers present, hop-by-hop absent") {
    test_server server(io, [](const request_info&) { return reply{response(200, "a 1\n")}; });
    auto s = make_scraper();
    const header_list client = {{"Authorization", "Bearer t0k3n"},
                                {"Connection", "X-Hop"},
                                {"X-Hop", "1"},
                                {"X-Tenant", "acme"},
                                {"Keep-Alive", "timeout=5"},
                                {"Cookie", "not-configured"}};
    const std::vector<std::string> configured = {"Authorization", "X-Hop", "X-Tenant",
                                                 "Keep-Alive"};
    auto options = options_for();
    options.headers = select_forward_headers(client, configured);
    // Even if a caller skips the filter, hop-by-hop headers never reach the instance.
    options.headers.emplace_back("Upgrade", "h2c");
    options.headers.emplace_back("TE", "trailers");
    REQUIRE(scrape(*s, {local_target(server.port())}, options).at(0).ok());
    const auto seen = server.seen().at(0);
    CHECK(seen.get("authorization") == "Bearer t0k3n");
    CHECK(seen.get("x-tenant") == "acme");
    CHECK_FALSE(seen.has("x-hop"));
    CHECK_FALSE(seen.has("keep-alive"));
    CHECK_FALSE(seen.has("cookie"));
    CHECK_FALSE(seen.has("upgrade"));
    CHECK_FALSE(seen.has("te"));
    CHECK(seen.get("connection") != "X-Hop");
}

TEST_CASE_METHOD(scraper_fixture, "scrape: gzip responses are decoded, plain and chunked") {
    const std::string big = [] {
        std::string b;
        for (int i = 0; i < 5000; ++i) {
            b += "metric_" + std::to_string(i % 97) + "{instance=\"" + std::to_string(i) + "\"} " +
                 std::to_string(i * 3) + "\n";
        }
        return b;
    }();
    const std::string gz = mgw::compression::gzip_compress(big);
    test_server server(io, [&](const request_info& req) {
        if (req.target == "/chunked") {
            return reply{
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" +
                chunked(gz, 1000)};
        }
        return reply{response(200, gz, "Content-Encoding: gzip\r\n")};
    });
    auto s = make_scraper();
    const auto results = scrape(
        *s, {local_target(server.port()), local_target(server.port(), "/chunked")}, options_for());
    for (const auto& r : results) {
        CHECK(r.ok());
        CHECK(r.body == big);
        CHECK(r.wire_bytes == gz.size());
    }
}

TEST_CASE_METHOD(scraper_fixture, "scrape: connection refused") {
    std::uint16_t port = 0;
    {
        boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    auto s = make_scraper();
    const auto r = std::move(scrape(*s, {local_target(port)}, options_for()).at(0));
    CHECK(r.error == scrape_error::connect_refused);
    CHECK(r.reason == "refused");
    CHECK(r.status == 0);
    CHECK(r.duration < 3000ms);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: error statuses are reported with the status code") {
    test_server server(io, [](const request_info& req) {
        if (req.target == "/404") {
            return reply{response(404, "not found")};
        }
        return reply{response(500, "boom", "Content-Type: text/plain\r\n")};
    });
    auto s = make_scraper();
    const auto results =
        scrape(*s, {local_target(server.port(), "/500"), local_target(server.port(), "/404")},
               options_for());
    CHECK(results[0].error == scrape_error::http_status);
    CHECK(results[0].status == 500);
    CHECK(results[0].reason == "status_500");
    CHECK(results[0].body.empty());
    CHECK(results[1].error == scrape_error::http_status);
    CHECK(results[1].status == 404);
    CHECK(results[1].reason == "status_404");
}

TEST_CASE_METHOD(scraper_fixture, "scrape: an instance that hangs times out at the deadline") {
    test_server server(io, [](const request_info& req) {
        if (req.target == "/fast") {
            return reply{response(200, "a 1\n")};
        }
        return reply{.bytes = "", .hang = true};
    });
    auto s = make_scraper();
    const auto start = clock_type::now();
    const auto results =
        scrape(*s, {local_target(server.port(), "/hang"), local_target(server.port(), "/fast")},
               options_for(1000ms));
    const auto elapsed = clock_type::now() - start;
    CHECK(results[0].error == scrape_error::timeout);
    CHECK(results[0].reason == "response");
    CHECK(results[1].ok());
    CHECK(elapsed >= 990ms);
    CHECK(elapsed < 3000ms);
    CHECK(results[0].duration >= 990ms);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: a slow body is cut at the deadline too") {
    test_server server(io, [](const request_info&) {
        // Headers now, body never completes: Content-Length promises more than is sent.
        return reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
                     .delay = 0ms,
                     .hang = false};
    });
    auto s = make_scraper();
    const auto r = std::move(scrape(*s, {local_target(server.port())}, options_for(300ms)).at(0));
    CHECK(r.error == scrape_error::timeout);
    CHECK(r.body.empty());
}

TEST_CASE_METHOD(scraper_fixture, "scrape: garbage bodies are returned raw, non-HTTP is an error") {
    // Leading NUL: the length must come from the literal, not from strlen.
    static constexpr char garbage_bytes[] = "\x00\x01\xff not metrics {{{\n";
    const std::string garbage(garbage_bytes, sizeof garbage_bytes - 1);
    test_server server(io, [&](const request_info& req) {
        if (req.target == "/ssh") {
            return reply{.bytes = "SSH-2.0-OpenSSH_9.2\r\n\r\n", .close = true};
        }
        if (req.target == "/closed") {
            return reply{.bytes = "", .close = true};
        }
        if (req.target == "/br") {
            return reply{response(200, "xx", "Content-Encoding: br\r\n")};
        }
        return reply{response(200, garbage)};
    });
    auto s = make_scraper();
    const auto results =
        scrape(*s,
               {local_target(server.port()), local_target(server.port(), "/ssh"),
                local_target(server.port(), "/closed"), local_target(server.port(), "/br")},
               options_for());
    CHECK(results[0].ok());
    CHECK(results[0].body == garbage);
    CHECK(results[1].error == scrape_error::protocol_error);
    CHECK(results[1].reason == "bad_response");
    CHECK(results[2].error == scrape_error::protocol_error);
    CHECK(results[2].reason == "connection_closed");
    CHECK(results[3].error == scrape_error::protocol_error);
    CHECK(results[3].reason == "content_encoding");
}

TEST_CASE_METHOD(scraper_fixture, "scrape: bodies over the limit stop without buffering them") {
    constexpr std::size_t fifty_mb = 50u << 20;
    test_server server(io, [&](const request_info& req) {
        if (req.target == "/declared") {
            // Declares 50 MB; the scraper must refuse from the header alone.
            return reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(fifty_mb) +
                                  "\r\n\r\n",
                         .endless_chunk = 0};
        }
        // Chunked with no declared size: 50 MB in 64 KB chunks.
        return reply{.bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                     .endless_chunk = 65536,
                     .endless_limit = fifty_mb};
    });
    auto s = make_scraper();
    auto options = options_for(10'000ms);
    options.max_body_bytes = 1u << 20;
    const auto start = clock_type::now();
    const auto results = scrape(
        *s, {local_target(server.port(), "/declared"), local_target(server.port(), "/chunked")},
        options);
    CHECK(clock_type::now() - start < 8s);
    CHECK(results[0].error == scrape_error::body_too_large);
    CHECK(results[0].reason == "content_length");
    CHECK(results[0].wire_bytes == 0);
    CHECK(results[1].error == scrape_error::body_too_large);
    CHECK(results[1].reason == "body");
    CHECK(results[1].body.empty());
    CHECK(results[1].wire_bytes <= (1u << 20) + 65536);
    // The server could only push what fits in socket buffers after we stopped reading.
    CHECK(server.endless_bytes_written() < fifty_mb / 2);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: gzip bomb and corrupt gzip") {
    // 100 MB of zeros, about 100 KB compressed.
    std::string bomb;
    {
        mgw::compression::gzip_encoder encoder;
        const std::string zeros(1u << 20, '\0');
        for (int i = 0; i < 100; ++i) {
            encoder.write(zeros, bomb);
        }
        encoder.finish(bomb);
    }
    std::string corrupt = mgw::compression::gzip_compress(metrics_body);
    corrupt[corrupt.size() - 6] ^= 0x10;
    const std::string truncated = mgw::compression::gzip_compress(metrics_body).substr(0, 20);
    test_server server(io, [&](const request_info& req) {
        const std::string& body = req.target == "/bomb"      ? bomb
                                  : req.target == "/corrupt" ? corrupt
                                                             : truncated;
        return reply{response(200, body, "Content-Encoding: gzip\r\n")};
    });
    auto s = make_scraper();
    auto options = options_for();
    options.max_body_bytes = 10u << 20;
    const auto start = clock_type::now();
    const auto results =
        scrape(*s,
               {local_target(server.port(), "/bomb"), local_target(server.port(), "/corrupt"),
                local_target(server.port(), "/truncated")},
               options);
    CHECK(clock_type::now() - start < 8s);
    CHECK(results[0].error == scrape_error::body_too_large);
    CHECK(results[0].reason == "gzip_body");
    CHECK(results[0].body.empty());
    CHECK(results[1].error == scrape_error::bad_gzip);
    CHECK(results[1].reason == "corrupt");
    CHECK(results[2].error == scrape_error::bad_gzip);
    CHECK(results[2].reason == "truncated");
}

TEST_CASE_METHOD(scraper_fixture, "scrape: same-host redirects are followed, others refused") {
    std::uint16_t port = 0;
    test_server server(io, [&](const request_info& req) {
        const std::string p = std::to_string(port);
        if (req.target == "/metrics") {
            return reply{response(302, "", "Location: /real/metrics\r\n")};
        }
        if (req.target == "/absolute") {
            return reply{
                response(301, "", "Location: http://127.0.0.1:" + p + "/real/metrics\r\n")};
        }
        if (req.target == "/elsewhere") {
            return reply{response(302, "", "Location: http://127.0.0.2:" + p + "/metrics\r\n")};
        }
        if (req.target == "/localhost") {
            return reply{
                response(307, "", "Location: http://localhost:" + p + "/real/metrics\r\n")};
        }
        if (req.target == "/loop") {
            return reply{response(302, "", "Location: /loop\r\n")};
        }
        if (req.target == "/real/metrics") {
            return reply{response(200, metrics_body)};
        }
        return reply{response(404, "")};
    });
    port = server.port();
    auto s = make_scraper();
    const auto results = scrape(
        *s,
        {local_target(port), local_target(port, "/absolute"), local_target(port, "/elsewhere"),
         local_target(port, "/localhost"), local_target(port, "/loop")},
        options_for());
    CHECK(results[0].ok());
    CHECK(results[0].body == metrics_body);
    CHECK(results[1].ok());
    CHECK(results[2].error == scrape_error::redirect_refused);
    CHECK(results[2].reason == "other_host");
    CHECK(results[2].status == 302);
    CHECK(results[3].error == scrape_error::redirect_refused);
    CHECK(results[4].error == scrape_error::redirect_refused);
    CHECK(results[4].reason == "too_many");
    int loop_requests = 0;
    for (const auto& seen : server.seen()) {
        loop_requests += seen.target == "/loop" ? 1 : 0;
    }
    CHECK(loop_requests == max_redirects + 1);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: keep-alive connections are reused per instance") {
    test_server server(io, [](const request_info& req) {
        if (req.target == "/close") {
            return reply{.bytes = response(200, "a 1\n", "Connection: close\r\n"), .close = true};
        }
        return reply{response(200, "a 1\n")};
    });
    auto s = make_scraper();
    auto first = std::move(scrape(*s, {local_target(server.port())}, options_for()).at(0));
    auto second = std::move(scrape(*s, {local_target(server.port())}, options_for()).at(0));
    CHECK(first.ok());
    CHECK_FALSE(first.reused_connection);
    CHECK(second.ok());
    CHECK(second.reused_connection);
    CHECK(server.connections() == 1);
    CHECK(server.requests() == 2);
    CHECK(s->idle_connections() == 1);

    // A response with Connection: close is not pooled: the first /close takes the pooled
    // connection and ends it, the second needs a new one, the next scrape another.
    CHECK(scrape(*s, {local_target(server.port(), "/close")}, options_for()).at(0).ok());
    CHECK(s->idle_connections() == 0);
    CHECK(scrape(*s, {local_target(server.port(), "/close")}, options_for()).at(0).ok());
    CHECK(server.connections() == 2);
    CHECK(s->idle_connections() == 0);
    CHECK(scrape(*s, {local_target(server.port())}, options_for()).at(0).ok());
    CHECK(server.connections() == 3);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: a pooled connection the server closed is retried") {
    // Keep-alive response, but the server closes right after it: the pooled connection is
    // dead by the next scrape.
    test_server server(io, [](const request_info&) {
        return reply{.bytes = response(200, "a 1\n"), .close = true};
    });
    auto s = make_scraper();
    REQUIRE(scrape(*s, {local_target(server.port())}, options_for()).at(0).ok());
    REQUIRE(s->idle_connections() == 1);
    // Let the FIN arrive.
    run([]() -> boost::asio::awaitable<int> {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, 50ms);
        co_await t.async_wait(boost::asio::use_awaitable);
        co_return 0;
    }());
    const auto r = std::move(scrape(*s, {local_target(server.port())}, options_for()).at(0));
    CHECK(r.ok());
    CHECK_FALSE(r.reused_connection);
    CHECK(server.connections() == 2);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: the global concurrency bound is honoured") {
    test_server server(io, [](const request_info&) {
        return reply{.bytes = response(200, "a 1\n"), .delay = 100ms};
    });
    scraper_config config;
    config.max_concurrency = 2;
    auto s = make_scraper(config);
    std::vector<scrape_target> targets;
    for (int i = 0; i < 6; ++i) {
        targets.push_back(local_target(server.port(), "/m" + std::to_string(i)));
    }
    const auto start = clock_type::now();
    const auto results = scrape(*s, targets, options_for());
    const auto elapsed = clock_type::now() - start;
    for (const auto& r : results) {
        CHECK(r.ok());
    }
    CHECK(server.max_concurrent_requests() == 2);
    CHECK(elapsed >= 290ms);  // 6 requests, 2 at a time, 100 ms each
    CHECK(s->in_flight() == 0);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: waiting for a slot counts against the deadline") {
    test_server server(io, [](const request_info&) { return reply{.bytes = "", .hang = true}; });
    scraper_config config;
    config.max_concurrency = 1;
    auto s = make_scraper(config);
    const auto results =
        scrape(*s, {local_target(server.port(), "/a"), local_target(server.port(), "/b")},
               options_for(1000ms));
    CHECK(results[0].error == scrape_error::timeout);
    CHECK(results[1].error == scrape_error::timeout);
    // One of them never got a slot.
    CHECK(((results[0].reason == "queued") != (results[1].reason == "queued")));
    CHECK(server.requests() == 1);
    CHECK(s->in_flight() == 0);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: cancelling the fan-out returns promptly") {
    test_server server(io, [](const request_info&) { return reply{.bytes = "", .hang = true}; });
    scraper_config config;
    config.max_concurrency = 2;  // one target is still queued when the cancel comes
    auto s = make_scraper(config);
    const std::vector<scrape_target> targets = {local_target(server.port(), "/a"),
                                                local_target(server.port(), "/b"),
                                                local_target(server.port(), "/c")};
    const auto options = options_for(30'000ms);
    boost::asio::cancellation_signal cancel;
    std::optional<std::vector<scrape_result>> results;
    boost::asio::co_spawn(
        io, s->scrape_all(targets, options),
        boost::asio::bind_cancellation_slot(
            cancel.slot(), [&](std::exception_ptr e, std::vector<scrape_result> r) {
                REQUIRE_FALSE(e);
                results = std::move(r);
            }));
    boost::asio::steady_timer trigger(io, 200ms);
    trigger.async_wait(
        [&](boost::system::error_code) { cancel.emit(boost::asio::cancellation_type::terminal); });
    const auto start = clock_type::now();
    io.restart();
    while (!results && clock_type::now() - start < 10s) {
        io.run_one_for(10s);
    }
    const auto elapsed = clock_type::now() - start;
    REQUIRE(results);
    CHECK(elapsed < 3000ms);  // against a 30 s deadline
    REQUIRE(results->size() == 3);
    for (const auto& r : *results) {
        CHECK(r.error == scrape_error::cancelled);
    }
    CHECK(s->in_flight() == 0);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: results are counted by outcome") {
    test_server server(io, [](const request_info& req) {
        return reply{response(req.target == "/bad" ? 503 : 200, "a 1\n")};
    });
    auto s = make_scraper();
    scrape(*s,
           {local_target(server.port()), local_target(server.port()),
            local_target(server.port(), "/bad")},
           options_for());
    double ok = -1;
    double status = -1;
    for (const auto& family : registry.Collect()) {
        if (family.name != "mgw_scrape_requests_total") {
            continue;
        }
        for (const auto& metric : family.metric) {
            if (metric.label.at(0).value == "ok") {
                ok = metric.counter.value;
            } else if (metric.label.at(0).value == "http_status") {
                status = metric.counter.value;
            }
        }
    }
    CHECK(ok == 2);
    CHECK(status == 1);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: an empty target list completes at once") {
    auto s = make_scraper();
    CHECK(scrape(*s, {}, options_for()).empty());
}

TEST_CASE_METHOD(scraper_fixture, "scrape: many instances on a loop run by two threads") {
    const std::string gz = mgw::compression::gzip_compress(metrics_body);
    test_server server(io, [&](const request_info& req) {
        const bool compressed = req.target.back() % 2 == 0;
        return reply{compressed ? response(200, gz, "Content-Encoding: gzip\r\n")
                                : response(200, metrics_body)};
    });
    scraper_config config;
    config.max_concurrency = 8;
    config.pool.max_idle_per_endpoint = 8;
    auto s = make_scraper(config);
    std::vector<scrape_target> targets;
    for (int i = 0; i < 200; ++i) {
        targets.push_back(local_target(server.port(), "/m" + std::to_string(i)));
    }
    const auto options = options_for(10'000ms);
    for (int round = 0; round < 2; ++round) {
        std::promise<std::vector<scrape_result>> promise;
        auto future = promise.get_future();
        boost::asio::co_spawn(io, s->scrape_all(targets, options),
                              [&](std::exception_ptr e, std::vector<scrape_result> r) {
                                  if (e) {
                                      promise.set_exception(e);
                                  } else {
                                      promise.set_value(std::move(r));
                                  }
                              });
        io.restart();
        std::thread second([&] { io.run_for(10s); });
        std::thread first([&] { io.run_for(10s); });
        const bool finished = future.wait_for(10s) == std::future_status::ready;
        io.stop();
        first.join();
        second.join();
        REQUIRE(finished);
        const auto results = future.get();
        REQUIRE(results.size() == targets.size());
        for (const auto& r : results) {
            CHECK(r.ok());
            CHECK(r.body == metrics_body);
        }
    }
    // Two rounds of 200 scrapes, at most 8 at a time, over kept-alive connections.
    CHECK(server.requests() == 400);
    CHECK(server.connections() <= 8);
    CHECK(server.max_concurrent_requests() <= 8);
    CHECK(s->in_flight() == 0);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: a connect that never completes is a connect_timeout") {
    // A listener with a full accept queue: Linux drops further SYNs, so connect() hangs.
    boost::asio::ip::tcp::acceptor full(io);
    const boost::asio::ip::tcp::endpoint any(boost::asio::ip::make_address("127.0.0.1"), 0);
    full.open(any.protocol());
    full.bind(any);
    full.listen(0);
    const auto endpoint = full.local_endpoint();
    // Plain non-blocking sockets: Asio's synchronous connect would wait for the handshake.
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        REQUIRE(fd >= 0);
        ::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size()));
        fillers.push_back(fd);
    }
    struct closer {
        std::vector<int>& fds;
        ~closer() {
            for (int fd : fds) {
                ::close(fd);
            }
        }
    } close_fillers{fillers};
    auto s = make_scraper();
    const auto r = std::move(scrape(*s, {local_target(endpoint.port())}, options_for(400ms)).at(0));
    CHECK(r.error == scrape_error::connect_timeout);
    CHECK(r.reason == "connect");
    CHECK(r.duration >= 390ms);
}

TEST_CASE_METHOD(scraper_fixture, "scrape: bodies are leased before they are filled") {
    const std::string plain(600'000, 'p');
    const std::string gzipped = mgw::compression::gzip_compress(std::string(600'000, 'g'));
    test_server server(io, [&](const request_info& req) {
        if (req.target == "/gzip") {
            return reply{response(200, gzipped, "Content-Encoding: gzip\r\n")};
        }
        if (req.target == "/chunked") {
            return reply{.bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                         .endless_chunk = 65536,
                         .endless_limit = 600'000};
        }
        return reply{response(200, plain)};
    });
    auto s = make_scraper();
    const std::vector<scrape_target> targets{local_target(server.port(), "/plain"),
                                             local_target(server.port(), "/gzip"),
                                             local_target(server.port(), "/chunked")};
    for (std::size_t i = 0; i < targets.size(); ++i) {
        CAPTURE(targets[i].path);
        {
            // Room for every body: each result holds a lease of exactly its body's capacity.
            mgw::core::memory_budget budget(64u << 20);
            auto options = options_for();
            options.memory = &budget;
            auto results = scrape(*s, {targets[i]}, options);
            REQUIRE(results[0].ok());
            CHECK(results[0].body.size() >= 600'000);
            CHECK(results[0].lease.bytes() == results[0].body.capacity());
            CHECK(budget.leased(mgw::core::memory_use::scrape_bodies) ==
                  results[0].body.capacity());
            results.clear();
            CHECK(budget.leased() == 0);
        }
        {
            // Not enough room: the fetch fails on its own, holding nothing.
            mgw::core::memory_budget budget(256u << 10);
            auto options = options_for();
            options.memory = &budget;
            const auto results = scrape(*s, {targets[i]}, options);
            CHECK(results[0].error == scrape_error::memory);
            CHECK(results[0].body.capacity() <= 15);
            CHECK(budget.refusals(mgw::core::memory_use::scrape_bodies) == 1);
            CHECK(budget.leased() == 0);
        }
    }
}

TEST_CASE_METHOD(scraper_fixture,
                 "scrape: a body of known length is read whole into exact-size storage") {
    // Larger than the header buffer and the read chunk, so most of it is read after the header
    // straight into the body; two requests on one connection show that nothing is left over.
    std::string large;
    for (int i = 0; large.size() < 300'000; ++i) {
        large += "series_" + std::to_string(i) + "{instance=\"x\"} " + std::to_string(i) + "\n";
    }
    test_server server(io, [&](const request_info& req) {
        if (req.target == "/short") {
            // Content-Length promises 100 bytes, the connection closes after 7.
            return reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
                         .close = true};
        }
        return reply{response(200, large)};
    });
    auto s = make_scraper();
    auto first = std::move(scrape(*s, {local_target(server.port())}, options_for()).at(0));
    auto second = std::move(scrape(*s, {local_target(server.port())}, options_for()).at(0));
    REQUIRE(first.ok());
    CHECK(first.body == large);
    CHECK(first.body.capacity() == large.size());
    CHECK(first.wire_bytes == large.size());
    REQUIRE(second.ok());
    CHECK(second.reused_connection);
    CHECK(second.body == large);
    CHECK(server.connections() == 1);

    const auto cut =
        std::move(scrape(*s, {local_target(server.port(), "/short")}, options_for()).at(0));
    CHECK(cut.error == scrape_error::protocol_error);
    CHECK(cut.reason == "connection_closed");
}
