// The YAML toolkit on its own, with made-up sections: each read names the key's full path in
// its error, leaves the default when the key is absent, and the section refuses unknown keys.
// (The gateway's sections are tested through load_config in test/unit/gateway/.)
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/core/config_reader.hpp>

using namespace std::chrono_literals;
using mgw::core::config_error;
using mgw::core::config_section;

namespace {

// The message a read throws for the section text `yaml` at path "a.b", or "" when it reads.
template <typename Read>
std::string error_of(const std::string& yaml, std::initializer_list<std::string_view> known,
                     Read read) {
    try {
        const config_section s(YAML::Load(yaml), "a.b", known);
        read(s);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a section names unknown and duplicate keys with their path", "[config_reader]") {
    CHECK(error_of("{x: 1, y: 2}", {"x"}, [](const auto&) {}) == "a.b.y: unknown key");
    CHECK(error_of("{x: 1, x: 2}", {"x"}, [](const auto&) {}) == "a.b.x: duplicate key");
    CHECK(error_of("[1]", {"x"}, [](const auto&) {}) == "a.b: expected a mapping");
    CHECK(error_of("", {"x"}, [](const auto&) {}).empty());
    // The document's root has no path of its own.
    try {
        const config_section root(YAML::Load("[1]"), "", {});
        FAIL("no error");
    } catch (const config_error& e) {
        CHECK(std::string(e.what()) == "config: expected a mapping");
    }
}

TEST_CASE("absent keys keep the default, present ones are read", "[config_reader]") {
    const config_section s(YAML::Load("{n: 7, d: 250ms, size: 2MiB, on: true, name: x}"), "a",
                           {"n", "d", "size", "on", "name", "missing"});
    std::uint32_t n = 1;
    std::uint32_t missing = 5;
    std::chrono::milliseconds d{1};
    std::uint64_t size = 0;
    bool on = false;
    std::string name = "default";
    mgw::core::read_uint(s, "n", n, 0, 10);
    mgw::core::read_uint(s, "missing", missing, 0, 10);
    mgw::core::read_duration(s, "d", d, mgw::core::zero_duration::rejected);
    mgw::core::read_byte_size(s, "size", size, 0, std::uint64_t{1} << 30);
    mgw::core::read_bool(s, "on", on);
    mgw::core::read_string(s, "name", name);
    CHECK(n == 7);
    CHECK(missing == 5);
    CHECK(d == 250ms);
    CHECK(size == (std::uint64_t{2} << 20));
    CHECK(on);
    CHECK(name == "x");
    CHECK(s.path_of("n") == "a.n");
}

TEST_CASE("typed reads say what was expected, at the key's path", "[config_reader]") {
    const auto uint_of = [](const std::string& yaml) {
        return error_of(yaml, {"n"}, [](const config_section& s) {
            std::uint32_t n = 0;
            mgw::core::read_uint(s, "n", n, 1, 10);
        });
    };
    CHECK(uint_of("{n: 11}") == "a.b.n: must be between 1 and 10, got 11");
    CHECK(uint_of("{n: -3}") == "a.b.n: must not be negative, got -3");
    CHECK(uint_of("{n: x}") == R"(a.b.n: expected an integer, got "x")");
    CHECK(uint_of("{n: [1]}") == "a.b.n: expected an integer");
    CHECK(uint_of("{n: 10}").empty());

    const auto duration_of = [](const std::string& yaml) {
        return error_of(yaml, {"d"}, [](const config_section& s) {
            std::chrono::milliseconds d{};
            mgw::core::read_duration(s, "d", d, mgw::core::zero_duration::rejected);
        });
    };
    CHECK(duration_of("{d: 0s}") == "a.b.d: must be greater than 0, got 0s");
    CHECK(duration_of("{d: -1s}") == "a.b.d: must not be negative, got -1s");
    CHECK(duration_of("{d: 1y}") ==
          R"(a.b.d: invalid duration "1y" (expected e.g. 500ms, 10s, 5m, 1h))");

    const auto size_of = [](const std::string& yaml) {
        return error_of(yaml, {"size"}, [](const config_section& s) {
            std::uint64_t size = 0;
            mgw::core::read_byte_size(s, "size", size, 1024, std::uint64_t{1} << 20);
        });
    };
    CHECK(size_of("{size: 2MiB}") == "a.b.size: must be between 1024 and 1048576 bytes, got 2MiB");
    CHECK(size_of("{size: 1TB}") ==
          R"(a.b.size: expected bytes (an integer, or with KiB, MiB or GiB), got "1TB")");
    CHECK(size_of("{size: 1KiB}").empty());
}

TEST_CASE("addresses, optional listeners and lists", "[config_reader]") {
    const config_section s(YAML::Load("{at: '127.0.0.1:80', off: '', list: [a, b]}"), "a",
                           {"at", "off", "list"});
    mgw::core::listen_address at;
    std::optional<mgw::core::listen_address> off = mgw::core::listen_address{"h", 1};
    std::vector<std::string> list{"default"};
    mgw::core::read_address(s, "at", at);
    mgw::core::read_optional_address(s, "off", off);
    mgw::core::read_string_list(s, "list", list);
    CHECK(at == mgw::core::listen_address{"127.0.0.1", 80});
    CHECK_FALSE(off);
    CHECK(list == std::vector<std::string>{"a", "b"});
    CHECK(error_of("{at: nowhere}", {"at"}, [](const config_section& s) {
              mgw::core::listen_address a;
              mgw::core::read_address(s, "at", a);
          }) == R"(a.b.at: invalid address "nowhere" (expected host:port))");
    CHECK(error_of("{list: [a, [b]]}", {"list"}, [](const config_section& s) {
              std::vector<std::string> l;
              mgw::core::read_string_list(s, "list", l);
          }) == "a.b.list[1]: expected a string");
}

TEST_CASE("TLS file pairs come together", "[config_reader]") {
    mgw::core::server_tls_config server;
    CHECK_THROWS_WITH(mgw::core::read_server_tls(YAML::Load("{cert_file: c}"), "x.tls", server),
                      "x.tls.key_file: required when x.tls.cert_file is set");
    mgw::core::client_tls_config client;
    mgw::core::read_client_tls(YAML::Load("{ca_file: ca, skip_verify: true}"), "y.tls", client);
    CHECK(client.ca_file == "ca");
    CHECK(client.skip_verify);
}

TEST_CASE("a configuration text is one YAML document", "[config_reader]") {
    CHECK_FALSE(mgw::core::parse_config_document("", "f.yml"));
    CHECK(mgw::core::parse_config_document("a: 1", "f.yml")->IsMap());
    CHECK_THROWS_WITH(mgw::core::parse_config_document("a: 1\n---\nb: 2\n", "f.yml"),
                      "f.yml: expected one YAML document, got 2");
    try {
        mgw::core::parse_config_document("a: [1", "f.yml");
        FAIL("no error");
    } catch (const config_error& e) {
        CHECK(e.path().starts_with("f.yml:"));
    }
    CHECK_THROWS_WITH(mgw::core::read_config_file("/nonexistent/gw.yml"),
                      "/nonexistent/gw.yml: cannot read: No such file or directory");
}
