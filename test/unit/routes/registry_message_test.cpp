// Unit tests: gorouter registry message decoding, every field and the rejected shapes.
#include <catch2/catch.hpp>

#include <mgw/routes/registry_message.hpp>

using mgw::routes::decode_registry_message;

TEST_CASE("decodes every field of a route-emitter register message") {
    const auto result = decode_registry_message(R"({
        "host":"10.0.16.12","port":61012,"tls_port":61014,
        "uris":["my-app.apps.example.com","my-app.apps.example.com/path"],
        "app":"a758f25d-0000-4000-8000-000000000001",
        "private_instance_id":"inst-1","private_instance_index":"3",
        "server_cert_domain_san":"inst-1","route_service_url":"https://rs.example.com",
        "isolation_segment":"iso","protocol":"http2","availability_zone":"z1",
        "endpoint_updated_at_ns":1717000000000000000,"stale_threshold_in_seconds":45,
        "tags":{"component":"route-emitter","app_id":"a758f25d-0000-4000-8000-000000000001",
                "process_type":"web","instance_id":"3"},
        "options":{"loadbalancing":"least-connection","hash_header":"ignored"},
        "unknown_future_field":{"x":1}})");
    REQUIRE(result.has_value());
    const auto& m = *result;
    CHECK(m.host == "10.0.16.12");
    CHECK(m.port == 61012);
    CHECK(m.tls_port == 61014);
    CHECK(m.uris ==
          std::vector<std::string>{"my-app.apps.example.com", "my-app.apps.example.com/path"});
    CHECK(m.app == "a758f25d-0000-4000-8000-000000000001");
    CHECK(m.private_instance_id == "inst-1");
    CHECK(m.private_instance_index == "3");
    CHECK(m.server_cert_domain_san == "inst-1");
    CHECK(m.route_service_url == "https://rs.example.com");
    CHECK(m.isolation_segment == "iso");
    CHECK(m.protocol == "http2");
    CHECK(m.availability_zone == "z1");
    CHECK(m.endpoint_updated_at_ns == 1717000000000000000);
    CHECK(m.stale_threshold_in_seconds == 45);
    CHECK(m.tags.size() == 4);
    CHECK(m.tags.at("component") == "route-emitter");
    CHECK(m.tags.at("instance_id") == "3");
    CHECK(m.load_balancing == "least-connection");
}

TEST_CASE("absent and null fields keep zero values") {
    const auto result = decode_registry_message(
        R"({"host":"10.0.0.1","port":null,"uris":null,"tags":null,"options":null,"app":null})");
    REQUIRE(result.has_value());
    CHECK(result->host == "10.0.0.1");
    CHECK(result->port == 0);
    CHECK(result->tls_port == 0);
    CHECK(result->uris.empty());
    CHECK(result->tags.empty());
    CHECK(result->load_balancing.empty());
    CHECK(result->stale_threshold_in_seconds == 0);
}

TEST_CASE("internal route with only a component tag decodes") {
    const auto result = decode_registry_message(
        R"({"host":"10.255.0.4","uris":["app.apps.internal"],"tags":{"component":"route-emitter"}})");
    REQUIRE(result.has_value());
    CHECK(result->tags.at("component") == "route-emitter");
}

TEST_CASE("rejected messages name the field at fault") {
    struct bad_case {
        const char* payload;
        const char* field;
    };
    const bad_case cases[] = {
        {R"({"host":"h","port":70000})", "port"},
        {R"({"host":"h","port":-1})", "port"},
        {R"({"host":"h","port":"80"})", "port"},
        {R"({"host":"h","port":80.5})", "port"},
        {R"({"host":"h","tls_port":65536})", "tls_port"},
        {R"({"host":1})", "host"},
        {R"({"uris":"a.example.com"})", "uris"},
        {R"({"uris":["a",2]})", "uris"},
        {R"({"private_instance_index":0})", "private_instance_index"},
        {R"({"tags":{"instance_id":0}})", "tags"},
        {R"({"tags":["a"]})", "tags"},
        {R"({"stale_threshold_in_seconds":"10"})", "stale_threshold_in_seconds"},
        {R"({"stale_threshold_in_seconds":-5})", "stale_threshold_in_seconds"},
        {R"({"endpoint_updated_at_ns":1.5})", "endpoint_updated_at_ns"},
        {R"({"endpoint_updated_at_ns":18446744073709551615})", "endpoint_updated_at_ns"},
        {R"({"options":"round-robin"})", "options"},
        {R"({"options":{"loadbalancing":1}})", "options.loadbalancing"},
        {R"({"route_service_url":"http://rs.example.com"})", "route_service_url"},
        {R"({"server_cert_domain_san":false})", "server_cert_domain_san"},
        {R"({"app":{}})", "app"},
        {R"({"isolation_segment":[]})", "isolation_segment"},
        {R"({"protocol":2})", "protocol"},
        {R"({"availability_zone":true})", "availability_zone"},
        {R"({"route_service_url":5})", "route_service_url"},
        {R"({"private_instance_id":5})", "private_instance_id"},
    };
    for (const bad_case& c : cases) {
        INFO(c.payload);
        const auto result = decode_registry_message(c.payload);
        REQUIRE(result.has_error());
        CHECK(result.error().field == c.field);
        CHECK_FALSE(result.error().message().empty());
    }
}

TEST_CASE("documents that are not JSON objects are rejected") {
    for (const char* payload :
         {"", "{", "[]", "\"x\"", "42", "null", "{\"host\":\"h\"} trailing"}) {
        INFO(payload);
        const auto result = decode_registry_message(payload);
        REQUIRE(result.has_error());
        CHECK(result.error().field.empty());
    }
}

TEST_CASE("value() on a rejected message throws with the reason") {
    const auto result = decode_registry_message(R"({"port":"x"})");
    CHECK_THROWS_WITH(result.value(), "port: expected an integer");
}

TEST_CASE("registry message errors are error codes of the category mgw.routes") {
    using mgw::routes::errc;
    const auto& category = mgw::routes::error_category();
    CHECK(std::string_view(category.name()) == "mgw.routes");
    CHECK(category.message(static_cast<int>(errc::invalid_json)) ==
          "the registry message is not valid JSON");
    CHECK(category.message(static_cast<int>(errc::wrong_type)) ==
          "a registry message field has the wrong JSON type");
    CHECK(category.message(static_cast<int>(errc::invalid_value)) ==
          "a registry message field has a value out of range");
    CHECK(category.message(0) == "unknown routes error");
    const boost::system::error_code code = errc::invalid_json;
    CHECK(&code.category() == &category);

    CHECK(decode_registry_message("{").error().code == errc::invalid_json);
    CHECK(decode_registry_message("[]").error().code == errc::wrong_type);
    CHECK(decode_registry_message(R"({"port":"x"})").error().code == errc::wrong_type);
    CHECK(decode_registry_message(R"({"port":70000})").error().code == errc::invalid_value);
    CHECK(decode_registry_message(R"({"route_service_url":"http://x"})").error().code ==
          errc::invalid_value);
}
