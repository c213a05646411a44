// POST /v1/metrics over a real loopback HTTP server: status codes, bodies and X-RateLimit-*
// fields exactly, the store unchanged by every refused push, the connection and other clients
// unaffected; and the app source's expositions with their labels.
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/exposition/writer.hpp>
#include <mgw/push/push_service.hpp>

#include "../http/test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mgw::http::test::raw_client;
using mgw::http::test::raw_response;
using mgw::http::test::request;
using mgw::http::test::test_server;
using mgw::push::push_binding;
using mgw::push::push_service;

// The broker's directory stands in as a map: the test owns the consumer of this interface.
class test_directory final : public mgw::push::binding_directory {
  public:
    void add(std::string key, push_binding binding) {
        const std::scoped_lock lock(mutex_);
        bindings_[std::move(key)] = std::move(binding);
    }
    void revoke(const std::string& key) {
        const std::scoped_lock lock(mutex_);
        bindings_.erase(key);
    }
    std::optional<push_binding> find_by_access_key(std::string_view key) const override {
        const std::scoped_lock lock(mutex_);
        auto it = bindings_.find(std::string(key));
        if (it == bindings_.end()) {
            return std::nullopt;
        }
        return it->second;
    }

  private:
    mutable std::mutex mutex_;
    std::map<std::string, push_binding> bindings_;
};

constexpr std::string_view app_1 = "6b1d1f5e-1111-4a3b-9c2d-000000000001";
constexpr std::string_view app_2 = "6b1d1f5e-2222-4a3b-9c2d-000000000002";

// 10:00:15 on some day: 45 s left in the rate window.
const auto wall_t0 =
    mgw::push::rate_limiter::clock::time_point{std::chrono::minutes(29'000'000) + 15s};

struct fixture {
    test_directory directory;
    prometheus::Registry registry;
    mgw::core::logger log{mgw::core::log_level::error};
    std::unique_ptr<push_service> service;
    std::unique_ptr<test_server> server;

    explicit fixture(std::size_t max_body_bytes = 4096, std::size_t max_metrics = 5000) {
        directory.add("key-1", {.binding_id = "bind-1",
                                .app_guid = std::string(app_1),
                                .plan_id = "unlimited",
                                .limits = {},
                                .labels = {{"organization_id", "org-guid"},
                                           {"space_id", "space-guid"},
                                           {"organization_name", "my-org"},
                                           {"space_name", "dev"},
                                           {"app_name", "pusher"}}});
        directory.add("key-2", {.binding_id = "bind-2",
                                .app_guid = std::string(app_2),
                                .plan_id = "small",
                                .limits = {.requests_per_minute = 3, .metrics_per_minute = 5},
                                .labels = {}});
        mgw::push::push_service_options options;
        options.max_body_bytes = max_body_bytes;
        options.decode.max_metrics = max_metrics;
        options.clocks.wall = [] { return wall_t0; };
        service = std::make_unique<push_service>(directory, options, log, registry);
        mgw::http::router routes;
        service->register_routes(routes);
        server = std::make_unique<test_server>(std::move(routes));
    }

    double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
        for (const auto& family : registry.Collect()) {
            if (family.name != name) {
                continue;
            }
            for (const auto& m : family.metric) {
                std::map<std::string, std::string> have;
                for (const auto& l : m.label) {
                    have[l.name] = l.value;
                }
                if (have == labels) {
                    return family.type == prometheus::MetricType::Counter ? m.counter.value
                                                                          : m.gauge.value;
                }
            }
        }
        return 0;
    }

    std::size_t series() const { return service->store().series_count(); }
};

std::string body_for(std::string_view app, std::string_view metrics, std::string_view index = "0") {
    std::string body = R"({"applications":[{"id":")";
    body += app;
    body += R"(","instances":[{"id":"inst-guid","index":")";
    body += index;
    body += R"(","metrics":[)";
    body += metrics;
    body += "]}]}],\"version\":1}";
    return body;
}

// Stamped 15 s before wall_t0: inside the window of timestamps the service accepts.
const std::string one_gauge =
    R"({"name":"queue.depth","type":"gauge","value":3,"timestamp":1740000000000})";

std::string push(std::string_view authorization, const std::string& body) {
    std::string headers = "Content-Type: application/json;charset=UTF-8\r\n";
    if (!authorization.empty()) {
        headers += "Authorization: ";
        headers += authorization;
        headers += "\r\n";
    }
    return request("POST", "/v1/metrics", headers, body);
}

raw_response round_trip(raw_client& client, const std::string& bytes) {
    client.send(bytes);
    auto response = client.read_response();
    REQUIRE(response);
    return std::move(*response);
}

raw_response round_trip(fixture& f, const std::string& bytes) {
    raw_client client(f.server->port());
    return round_trip(client, bytes);
}

std::map<std::string, std::string> rate_fields(const raw_response& r) {
    std::map<std::string, std::string> out;
    for (const auto& field : r) {
        const std::string name(field.name_string());
        if (name.starts_with("X-RateLimit-")) {
            out[name] = std::string(field.value());
        }
    }
    return out;
}

const std::map<std::string, std::string> unlimited_fields{
    {"X-RateLimit-Limit", "unlimited"},
    {"X-RateLimit-Remaining", "unlimited"},
    {"X-RateLimit-Metrics-Limit", "unlimited"},
    {"X-RateLimit-Metrics-Remaining", "unlimited"},
    {"X-RateLimit-Period", "60"},
    {"X-RateLimit-Retry-After", "0"}};

const std::map<std::string, std::string> no_quota_fields{
    {"X-RateLimit-Limit", "0"},         {"X-RateLimit-Remaining", "0"},
    {"X-RateLimit-Metrics-Limit", "0"}, {"X-RateLimit-Metrics-Remaining", "0"},
    {"X-RateLimit-Period", "60"},       {"X-RateLimit-Retry-After", "0"}};

// A contribution's series as 0.0.4 text, written from the model the source handed over.
std::string text_of(const mgw::apps::contributed_exposition& contribution) {
    std::string text;
    mgw::exposition::write_exposition(text, contribution.parsed, {});
    return text;
}

std::vector<mgw::apps::contributed_exposition> collect(fixture& f, const mgw::apps::app_query& q) {
    boost::asio::io_context io;
    std::vector<mgw::apps::contributed_exposition> out;
    auto done =
        boost::asio::co_spawn(io, f.service->collect(q, std::chrono::steady_clock::now() + 1s, out),
                              boost::asio::use_future);
    io.run();
    done.get();
    return out;
}

}  // namespace

TEST_CASE("push: 202 with an empty body and the unlimited plan's fields") {
    fixture f;
    const raw_response r = round_trip(f, push("key-1", body_for(app_1, one_gauge)));
    CHECK(r.result_int() == 202);
    CHECK(r.body().empty());
    CHECK(r[boost::beast::http::field::content_type] == "text/plain; charset=utf-8");
    CHECK(rate_fields(r) == unlimited_fields);
    CHECK(f.series() == 1);
    CHECK(f.metric("mgw_push_requests_total", {{"code", "202"}}) == 1);
    CHECK(f.metric("mgw_push_metrics_accepted_total", {}) == 1);
    CHECK(f.metric("mgw_push_series", {}) == 1);
}

TEST_CASE("push: the key raw or as a Bearer token, case-insensitive scheme") {
    fixture f;
    CHECK(round_trip(f, push("Bearer key-1", body_for(app_1, one_gauge))).result_int() == 202);
    CHECK(round_trip(f, push("bearer   key-1 ", body_for(app_1, one_gauge))).result_int() == 202);
    CHECK(mgw::push::access_key_of("  key ") == "key");
    CHECK(mgw::push::access_key_of("Bearer") == "Bearer");  // no key after the scheme: a key
    CHECK(mgw::push::access_key_of("").empty());
}

TEST_CASE("push: 401 without or with an unknown key, fields included, store unchanged") {
    fixture f;
    raw_response r = round_trip(f, push("", body_for(app_1, one_gauge)));
    CHECK(r.result_int() == 401);
    CHECK(r.body() == R"({"error":"Authorization: the binding's access_key is required"})");
    CHECK(r[boost::beast::http::field::content_type] == "application/json");
    CHECK(rate_fields(r) == no_quota_fields);

    r = round_trip(f, push("not-a-key", body_for(app_1, one_gauge)));
    CHECK(r.result_int() == 401);
    CHECK(r.body() == R"({"error":"Authorization: unknown or revoked access key"})");
    CHECK(rate_fields(r) == no_quota_fields);

    // A key revoked (unbind) is refused from the next request on.
    REQUIRE(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
    f.directory.revoke("key-1");
    CHECK(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 401);

    CHECK(f.series() == 1);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "missing_key"}}) == 1);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "unknown_key"}}) == 2);
    CHECK(f.metric("mgw_push_requests_total", {{"code", "401"}}) == 3);
}

TEST_CASE("push: 403 for another app's GUID") {
    fixture f;
    std::string body = R"({"applications":[{"id":")";
    body += app_1;
    body += R"(","instances":[]},{"id":")";
    body += app_2;
    body += R"(","instances":[{"index":"0","metrics":[)";
    body += one_gauge;
    body += "]}]}]}";
    const raw_response r = round_trip(f, push("key-1", body));
    CHECK(r.result_int() == 403);
    std::string expected =
        R"({"error":"applications[1].id: this access key may push only for app )";
    expected += app_1;
    expected += R"("})";
    CHECK(r.body() == expected);
    CHECK(rate_fields(r) == unlimited_fields);
    CHECK(f.series() == 0);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "wrong_app"}}) == 1);
    // The GUID compares case-insensitively.
    std::string upper(app_1);
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    CHECK(round_trip(f, push("key-1", body_for(upper, one_gauge))).result_int() == 202);
}

TEST_CASE("push: 413 over push.max_body_bytes, the body never read") {
    fixture f(4096);
    std::string big = body_for(app_1, one_gauge);
    std::string padding = R"("padding":")";
    padding.append(5000, 'x');
    padding += R"(",)";
    big.insert(1, padding);
    raw_client client(f.server->port());
    const raw_response r = round_trip(client, push("key-1", big));
    CHECK(r.result_int() == 413);
    CHECK(rate_fields(r) == unlimited_fields);
    CHECK(f.series() == 0);
    // Everyone else is served on.
    CHECK(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
}

TEST_CASE("push: a 413 carries the key's rate-limit fields without counting the request") {
    fixture f(4096);
    std::string big = body_for(app_2, R"({"name":"a","type":"gauge","value":1})");
    big.insert(1, R"("padding":")" + std::string(5000, 'x') + R"(",)");
    REQUIRE(
        round_trip(f, push("key-2", body_for(app_2, R"({"name":"a","type":"gauge","value":1})")))
            .result_int() == 202);

    raw_client client(f.server->port());
    raw_response r = round_trip(client, push("key-2", big));
    CHECK(r.result_int() == 413);
    CHECK(rate_fields(r) ==
          std::map<std::string, std::string>{{"X-RateLimit-Limit", "3"},
                                             {"X-RateLimit-Remaining", "2"},
                                             {"X-RateLimit-Metrics-Limit", "5"},
                                             {"X-RateLimit-Metrics-Remaining", "4"},
                                             {"X-RateLimit-Period", "60"},
                                             {"X-RateLimit-Retry-After", "0"}});

    raw_client stranger(f.server->port());
    r = round_trip(stranger, push("no-such-key", big));
    CHECK(r.result_int() == 413);
    CHECK(rate_fields(r).at("X-RateLimit-Limit") == "0");

    // The refused request did not use the plan's quota.
    r = round_trip(f, push("key-2", body_for(app_2, R"({"name":"a","type":"gauge","value":2})")));
    CHECK(r.result_int() == 202);
    CHECK(rate_fields(r).at("X-RateLimit-Remaining") == "1");
}

TEST_CASE("push: a chunked body over push.max_body_bytes is the same 413 with the same fields") {
    fixture f(4096);
    std::string big = body_for(app_1, one_gauge);
    big.insert(1, R"("padding":")" + std::string(5000, 'x') + R"(",)");
    // Sent in 1 KiB chunks: no Content-Length announces the size.
    std::string chunked =
        "POST /v1/metrics HTTP/1.1\r\nHost: t\r\nAuthorization: key-1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < big.size(); at += 1024) {
        const std::string piece = big.substr(at, 1024);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        chunked += size + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    raw_client client(f.server->port());
    const raw_response r = round_trip(client, chunked);
    CHECK(r.result_int() == 413);
    CHECK(rate_fields(r) == unlimited_fields);
    CHECK(f.series() == 0);
    CHECK(f.server->metric("mgw_http_rejected_total", {{"reason", "body_too_large"}}) == 1);

    // Under the limit, a chunked body is served like any other.
    const std::string small = body_for(app_1, one_gauge);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", small.size());
    const raw_response ok =
        round_trip(f,
                   "POST /v1/metrics HTTP/1.1\r\nHost: t\r\nAuthorization: key-1\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n" +
                       std::string(size) + small + "\r\n0\r\n\r\n");
    CHECK(ok.result_int() == 202);
}

TEST_CASE("push: push.max_body_bytes above the server's default body limit is the limit") {
    // The server's default (http.body_limit) is 1 MiB; the route allows 4 MiB.
    fixture f(4u << 20);
    std::string big = body_for(app_1, one_gauge);
    big.insert(1, R"("padding":")" + std::string(2u << 20, 'x') + R"(",)");
    const raw_response r = round_trip(f, push("key-1", big));
    CHECK(r.result_int() == 202);
    CHECK(f.series() == 1);
}

TEST_CASE("push: 422 names the first bad field, the store and the connection carry on") {
    fixture f(1u << 20);
    raw_client client(f.server->port());
    REQUIRE(round_trip(client, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
    const std::string base = "applications[0].instances[0].metrics[0]";
    const auto answer = [&base](std::string_view field, std::string_view message) {
        std::string out = R"({"error":")";
        out += base;
        out += field;
        out += ": ";
        out += message;
        out += R"(","field":")";
        out += base;
        out += field;
        out += R"("})";
        return out;
    };
    std::string deep = R"({"applications":[],"x":)";
    deep.append(5000, '[');
    deep.append(5000, ']');
    deep += "}";

    struct bad_case {
        std::string body;
        std::string answer;
    };
    std::string ten_thousand;
    for (int i = 0; i < 10000; ++i) {
        ten_thousand += i != 0 ? R"(,{"name":"m)" : R"({"name":"m)";
        ten_thousand += std::to_string(i);
        ten_thousand += R"(","type":"gauge","value":1})";
    }
    const std::vector<bad_case> cases = {
        {"{\"applications\": [", ""},  // invalid JSON: the parser's own message
        {body_for(app_1, R"({"name":"m","type":"gauge","value":"NaN"})"),
         answer(".value", R"(must be a number, got a string \"NaN\")")},
        {body_for(app_1, R"({"name":"m","type":"gauge","value":NaN})"), ""},
        {body_for(app_1, R"({"name":["m"],"type":"gauge","value":1})"),
         answer(".name", "must be a string, got an array")},
        {body_for(app_1, ten_thousand),
         R"({"error":"applications[0].instances[0].metrics: more than 5000 metrics in one )"
         R"(request","field":"applications[0].instances[0].metrics"})"},
        {deep, R"({"error":"body: nested deeper than 16 levels","field":"body"})"},
    };
    for (const bad_case& c : cases) {
        CAPTURE(c.body.substr(0, 120));
        const raw_response r = round_trip(client, push("key-1", c.body));
        CHECK(r.result_int() == 422);
        CHECK(r[boost::beast::http::field::content_type] == "application/json");
        CHECK(rate_fields(r) == unlimited_fields);
        if (c.answer.empty()) {
            CHECK(r.body().starts_with(R"({"error":"body: invalid JSON at byte )"));
        } else {
            CHECK(r.body() == c.answer);
        }
    }
    CHECK(f.series() == 1);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "invalid_payload"}}) == 6);
    // Same keep-alive connection, still served.
    CHECK(round_trip(client, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
}

TEST_CASE("push: 422 for a name pushed with another type") {
    fixture f;
    REQUIRE(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
    const raw_response r = round_trip(
        f, push("key-1", body_for(app_1, R"({"name":"queue.depth","type":"counter","value":1})")));
    CHECK(r.result_int() == 422);
    CHECK(r.body() ==
          R"({"error":"applications[0].instances[0].metrics[0].type: \"queue_depth\" is a )"
          R"(counter here but this app already pushes a gauge under that name","field":)"
          R"("applications[0].instances[0].metrics[0].type"})");
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "type_conflict"}}) == 1);
}

TEST_CASE("push: 429 over the plan's requests and metrics per minute, with the fields") {
    fixture f;
    const std::string two = R"({"name":"a","type":"gauge","value":1},)"
                            R"({"name":"b","type":"gauge","value":1})";
    raw_response r = round_trip(f, push("key-2", body_for(app_2, two)));
    CHECK(r.result_int() == 202);
    CHECK(rate_fields(r) ==
          std::map<std::string, std::string>{{"X-RateLimit-Limit", "3"},
                                             {"X-RateLimit-Remaining", "2"},
                                             {"X-RateLimit-Metrics-Limit", "5"},
                                             {"X-RateLimit-Metrics-Remaining", "3"},
                                             {"X-RateLimit-Period", "60"},
                                             {"X-RateLimit-Retry-After", "0"}});

    // 4 metrics where 3 are left: refused whole.
    r = round_trip(f, push("key-2", body_for(app_2, two + "," + two)));
    CHECK(r.result_int() == 429);
    CHECK(r.body() == R"({"error":"rate limit: 5 metrics per minute, 3 left and this request )"
                      R"(has 4; retry in 45 s"})");
    CHECK(rate_fields(r) ==
          std::map<std::string, std::string>{{"X-RateLimit-Limit", "3"},
                                             {"X-RateLimit-Remaining", "1"},
                                             {"X-RateLimit-Metrics-Limit", "5"},
                                             {"X-RateLimit-Metrics-Remaining", "3"},
                                             {"X-RateLimit-Period", "60"},
                                             {"X-RateLimit-Retry-After", "45"}});
    CHECK(f.series() == 2);

    r = round_trip(f, push("key-2", body_for(app_2, two)));
    CHECK(r.result_int() == 202);
    CHECK(rate_fields(r).at("X-RateLimit-Remaining") == "0");
    CHECK(rate_fields(r).at("X-RateLimit-Retry-After") == "45");

    r = round_trip(f, push("key-2", body_for(app_2, two)));
    CHECK(r.result_int() == 429);
    CHECK(r.body() == R"({"error":"rate limit: 3 requests per minute; retry in 45 s"})");
    CHECK(rate_fields(r).at("X-RateLimit-Remaining") == "0");
    CHECK(rate_fields(r).at("X-RateLimit-Retry-After") == "45");

    // The unlimited binding is not affected.
    CHECK(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "metric_rate"}}) == 1);
    CHECK(f.metric("mgw_push_rejected_total", {{"reason", "request_rate"}}) == 1);
    CHECK(f.metric("mgw_push_requests_total", {{"code", "429"}}) == 2);
}

TEST_CASE("push: other methods on /v1/metrics are not allowed") {
    fixture f;
    const raw_response r = round_trip(f, request("GET", "/v1/metrics"));
    CHECK(r.result_int() == 405);
}

TEST_CASE("app source: pushed series per instance with the route's CF labels") {
    fixture f;
    REQUIRE(round_trip(f, push("key-1", body_for(app_1,
                                                 R"({"name":"jobs","type":"counter","value":7,)"
                                                 R"("tags":{"queue":"mail"}})",
                                                 "2")))
                .result_int() == 202);
    REQUIRE(round_trip(f, push("key-1", body_for(app_1, one_gauge, "0"))).result_int() == 202);

    const std::map<std::string, std::string> tags{
        {"organization_id", "o"},       {"space_id", "s"},
        {"app_id", std::string(app_1)}, {"organization_name", "route-org"},
        {"space_name", "route-space"},  {"app_name", "route-app"}};
    const auto out = collect(f, {.identifier = "route-org/route-space/route-app",
                                 .app_guid = app_1,
                                 .tags = &tags,
                                 .apps = {}});
    REQUIRE(out.size() == 2);
    CHECK(text_of(out[0]) == "# TYPE queue_depth gauge\nqueue_depth 3\n");
    CHECK(out[0].readable());
    CHECK(out[0].parsed.source_format == mgw::exposition::format::prometheus_text);
    using labels = std::vector<std::pair<std::string, std::string>>;
    CHECK(out[0].labels == labels{{"organization_id", "o"},
                                  {"space_id", "s"},
                                  {"app_id", std::string(app_1)},
                                  {"organization_name", "route-org"},
                                  {"space_name", "route-space"},
                                  {"app_name", "route-app"},
                                  {"index", "0"},
                                  {"instance_id", "0"},
                                  {"source", "push"}});
    CHECK(text_of(out[1]) == "# TYPE jobs counter\njobs{queue=\"mail\"} 7\n");
    CHECK(out[1].labels[6] == std::pair<std::string, std::string>{"index", "2"});
}

TEST_CASE("app source: the binding's labels when the route table does not know the app") {
    fixture f;
    REQUIRE(round_trip(f, push("key-1", body_for(app_1, one_gauge))).result_int() == 202);
    const auto out = collect(f, {.identifier = app_1, .app_guid = {}, .tags = nullptr, .apps = {}});
    REQUIRE(out.size() == 1);
    using labels = std::vector<std::pair<std::string, std::string>>;
    CHECK(out[0].labels == labels{{"organization_id", "org-guid"},
                                  {"space_id", "space-guid"},
                                  {"app_id", std::string(app_1)},
                                  {"organization_name", "my-org"},
                                  {"space_name", "dev"},
                                  {"app_name", "pusher"},
                                  {"index", "0"},
                                  {"instance_id", "0"},
                                  {"source", "push"}});
    // Nothing for an app that never pushed.
    CHECK(collect(f, {.identifier = app_2, .app_guid = {}, .tags = nullptr, .apps = {}}).empty());
}
