// Listen address syntax: host:port, [v6]:port, :port, and what is rejected.
#include <catch2/catch.hpp>

#include <mgw/core/address.hpp>

using mgw::core::listen_address;
using mgw::core::parse_listen_address;

TEST_CASE("parse_listen_address accepts host:port forms", "[address]") {
    CHECK(parse_listen_address("127.0.0.1:8085") == listen_address{"127.0.0.1", 8085});
    CHECK(parse_listen_address("localhost:80") == listen_address{"localhost", 80});
    CHECK(parse_listen_address("metrics-gw_1.example.com:443") ==
          listen_address{"metrics-gw_1.example.com", 443});
    CHECK(parse_listen_address(":8080") == listen_address{"", 8080});
    CHECK(parse_listen_address("[::1]:9090") == listen_address{"::1", 9090});
    CHECK(parse_listen_address("[::]:1") == listen_address{"::", 1});
    CHECK(parse_listen_address("[fe80::1%eth0]:65535") == listen_address{"fe80::1%eth0", 65535});
    CHECK(parse_listen_address("[::ffff:10.0.0.1]:0") == listen_address{"::ffff:10.0.0.1", 0});
}

TEST_CASE("parse_listen_address rejects malformed addresses", "[address]") {
    for (const char* text : {"", "8085", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                             "127.0.0.1:80855", "127.0.0.1:-1", "127.0.0.1:80a", "::1:8080",
                             "[::1]", "[::1:8080", "::1]:8080", "[127.0.0.1]:80", "[::1%]:80",
                             "host name:80", "http://host:80", "[]:80", "127.0.0.1:+80"}) {
        INFO(text);
        CHECK_FALSE(parse_listen_address(text).has_value());
    }
}

TEST_CASE("listen_address::to_string round-trips", "[address]") {
    CHECK(listen_address{"127.0.0.1", 8085}.to_string() == "127.0.0.1:8085");
    CHECK(listen_address{"", 8080}.to_string() == ":8080");
    CHECK(listen_address{"::1", 9090}.to_string() == "[::1]:9090");
    for (const char* text : {"127.0.0.1:8085", ":1", "[::1]:9090", "[fe80::1%eth0]:80"}) {
        INFO(text);
        const auto address = parse_listen_address(text);
        REQUIRE(address.has_value());
        CHECK(address->to_string() == text);
    }
}

TEST_CASE("loopback hosts are told from every-interface and routable ones") {
    using mgw::core::is_loopback_host;
    for (const char* host :
         {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
        CHECK(is_loopback_host(host));
    }
    for (const char* host : {"", "0.0.0.0", "::", "10.0.0.6", "192.168.1.1", "::ffff:10.0.0.1",
                             "fe80::1", "director.internal", "localhost.example.com"}) {
        CHECK_FALSE(is_loopback_host(host));
    }
}
