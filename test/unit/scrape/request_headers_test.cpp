// Header policy for instance requests: forwarding, hop-by-hop filtering, timeouts.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/exposition/content_type.hpp>
#include <mgw/scrape/request_headers.hpp>

using namespace mgw::scrape;
using namespace std::chrono_literals;

TEST_CASE("hop-by-hop headers are recognised case-insensitively") {
    for (const char* name :
         {"Connection", "keep-alive", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding",
          "UPGRADE", "Proxy-Connection", "proxy-authenticate"}) {
        CAPTURE(name);
        CHECK(is_hop_by_hop(name));
    }
    for (const char* name : {"Authorization", "Accept", "X-Forwarded-For", "Tee", "Connections"}) {
        CAPTURE(name);
        CHECK_FALSE(is_hop_by_hop(name));
    }
}

TEST_CASE("only configured, end-to-end client headers are forwarded") {
    const header_list client = {
        {"authorization", "Bearer abc"},
        {"Cookie", "session=1"},
        {"X-Secret", "nope"},
        {"Connection", "keep-alive, X-Per-Hop"},
        {"X-Per-Hop", "1"},
        {"Keep-Alive", "timeout=5"},
        {"Transfer-Encoding", "chunked"},
        {"Accept", "text/html"},
        {"Host", "gateway:8085"},
        {"X-Prometheus-Scrape-Timeout-Seconds", "10"},
        {"X-Tenant", "a"},
        {"x-tenant", "b"},
    };
    const std::vector<std::string> configured = {"Authorization",
                                                 "cookie",
                                                 "X-Per-Hop",
                                                 "Keep-Alive",
                                                 "Transfer-Encoding",
                                                 "Accept",
                                                 "Host",
                                                 "X-Tenant",
                                                 "Connection",
                                                 "X-Prometheus-Scrape-Timeout-Seconds"};
    const header_list forwarded = select_forward_headers(client, configured);
    const header_list expected = {
        {"authorization", "Bearer abc"},
        {"Cookie", "session=1"},
        {"X-Tenant", "a"},
        {"x-tenant", "b"},
    };
    CHECK(forwarded == expected);
    CHECK(select_forward_headers(client, {}).empty());
}

TEST_CASE("instance timeout: min(configured, client header - 0.5 s), floored") {
    CHECK(scrape_timeout(10s, std::nullopt) == 10s);
    CHECK(scrape_timeout(10s, "5") == 4500ms);
    CHECK(scrape_timeout(10s, " 2.25 ") == 1750ms);
    CHECK(scrape_timeout(3s, "30") == 3s);
    CHECK(scrape_timeout(10s, "0.4") == min_scrape_timeout);
    CHECK(scrape_timeout(50ms, std::nullopt) == min_scrape_timeout);
    // Unusable client values leave the configured timeout.
    for (const char* bad : {"", "abc", "-1", "0", "5s", "nan", "inf", "1e300"}) {
        CAPTURE(bad);
        CHECK(scrape_timeout(10s, std::string_view(bad)) == 10s);
    }
}

TEST_CASE("the timeout header carries seconds with millisecond precision") {
    CHECK(format_timeout_header(9500ms) == "9.500");
    CHECK(format_timeout_header(10s) == "10.000");
    CHECK(format_timeout_header(1ms) == "0.001");
    CHECK(format_timeout_header(std::chrono::microseconds(2'999'999)) == "2.999");
    CHECK(format_timeout_header(-3s) == "0.000");
}

TEST_CASE("Promfetcher's Accept headers for v1 and v2") {
    CHECK(mgw::exposition::promfetcher_v1_accept ==
          "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
    CHECK(mgw::exposition::promfetcher_v2_accept == "text/plain; version=0.0.4; charset=utf-8");
}
