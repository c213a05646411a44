// The broker's OSB endpoints driven through their real HTTP handler (router match, request
// context, response) without sockets: the fixture shared by the broker's service tests.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <mgw/broker/broker_service.hpp>
#include <mgw/text/ascii.hpp>

namespace broker_test {

namespace json = boost::json;
using mgw::http::verb;

// A fresh directory per test, removed afterwards.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "mgw-broker-service-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::string file(const char* name) const { return (path / name).string(); }
};

constexpr const char* forwarder_service = "20ca29fa-5601-4846-bf41-d73ed6c7b157";
constexpr const char* forwarder_plan = "90197714-1698-46ce-b839-492957f4a15c";
constexpr const char* small_plan = "plan-small";
constexpr const char* promfetcher_service = "e44a55b7-b532-4247-89f3-4ea92054b793";
constexpr const char* promfetcher_plan = "3294e4fa-42b3-4505-b289-8fb3695b5b3a";
// base64("broker:s3cret")
constexpr const char* good_auth = "Basic YnJva2VyOnMzY3JldA==";

class header_map final : public mgw::http::request_context::header_source {
  public:
    std::map<std::string, std::string> fields;  // lower-case names

    std::optional<std::string_view> find(std::string_view name) const override {
        std::string lower(name);
        for (char& c : lower) {
            c = mgw::text::ascii_lower(c);
        }
        const auto found = fields.find(lower);
        if (found == fields.end()) {
            return std::nullopt;
        }
        return std::string_view(found->second);
    }
};

struct answer {
    int status = 0;
    std::string body;
    std::optional<std::string> www_authenticate;
    std::string content_type;
    std::optional<std::string> allow;

    json::value json_body() const { return json::parse(body); }
};

inline mgw::broker::broker_config test_config(std::string database = "") {
    mgw::broker::broker_config config;
    config.enabled = true;
    config.username = "broker";
    config.password = "s3cret";
    config.database = std::move(database);
    config.metrics_forwarder.plans.push_back({.name = "small",
                                              .id = small_plan,
                                              .description = "Small",
                                              .requests_per_minute = 60,
                                              .metrics_per_minute = 600});
    return config;
}

// One broker service with its router, as the gateway builds them.
class broker_fixture {
  public:
    explicit broker_fixture(std::string database = "")
        : broker_fixture(test_config(std::move(database))) {}
    explicit broker_fixture(const mgw::broker::broker_config& config)
        : service_(config, "https://gw.example.com/v1/metrics", log_, registry_) {
        service_.register_routes(routes_);
    }

    mgw::broker::broker_service& service() { return service_; }

    answer call(verb method, std::string target, std::string body = "",
                std::map<std::string, std::string> headers = {{"authorization", good_auth},
                                                              {"x-broker-api-version", "2.16"}}) {
        header_map fields;
        fields.fields = std::move(headers);
        std::string path = target.substr(0, target.find('?'));
        std::vector<std::pair<std::string, std::string>> query;
        if (const auto q = target.find('?'); q != std::string::npos) {
            std::string_view rest = std::string_view(target).substr(q + 1);
            while (!rest.empty()) {
                const std::string_view pair = rest.substr(0, rest.find('&'));
                const auto eq = pair.find('=');
                query.emplace_back(
                    std::string(pair.substr(0, eq)),
                    eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
                rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
            }
        }
        const auto match = routes_.match(method, path);
        if (match.result != mgw::http::route_match::kind::found) {
            return {.status = match.result == mgw::http::route_match::kind::not_found ? 404 : 405,
                    .body = "",
                    .www_authenticate = std::nullopt,
                    .content_type = "",
                    .allow = std::nullopt};
        }
        mgw::http::request_context request(
            {.method = method,
             .method_string = boost::beast::http::to_string(method),
             .target = target,
             .path = path,
             .query = std::move(query),
             .body = &body,
             .headers = &fields,
             .remote = {},
             .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5),
             .version = 11});
        mgw::http::response response({.sink = nullptr,
                                      .gzip_accepted = false,
                                      .head_request = false,
                                      .gzip_min_bytes = 1024});
        boost::asio::io_context io;
        boost::asio::co_spawn(io, match.route->handler(request, response),
                              [](std::exception_ptr e) {
                                  if (e) {
                                      std::rethrow_exception(e);
                                  }
                              });
        io.run();
        answer out{.status = static_cast<int>(response.status()),
                   .body = response.body(),
                   .www_authenticate = std::nullopt,
                   .content_type = std::string(response.header("Content-Type").value_or("")),
                   .allow = std::nullopt};
        CHECK(out.content_type == "application/json");
        if (auto field = response.header("Allow")) {
            out.allow = std::string(*field);
        }
        if (auto field = response.header("WWW-Authenticate")) {
            out.www_authenticate = std::string(*field);
        }
        return out;
    }

    double counter(const std::string& name, const std::map<std::string, std::string>& labels) {
        for (const auto& family : registry_.Collect()) {
            if (family.name != name) {
                continue;
            }
            for (const auto& metric : family.metric) {
                std::map<std::string, std::string> have;
                for (const auto& label : metric.label) {
                    have[label.name] = label.value;
                }
                if (have == labels) {
                    return family.type == prometheus::MetricType::Gauge ? metric.gauge.value
                                                                        : metric.counter.value;
                }
            }
        }
        return 0;
    }

  private:
    mgw::core::logger log_{mgw::core::log_level::error};
    prometheus::Registry registry_;
    mgw::broker::broker_service service_;
    mgw::http::router routes_;
};

inline std::string instance_body(const char* service, const char* plan) {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","organization_guid":"org-guid","space_guid":"space-guid",)" +
           R"("context":{"platform":"cloudfoundry","organization_name":"org","space_name":"space"}})";
}

inline std::string bind_body(const char* service, const char* plan, const char* app,
                             const char* parameters = "{}") {
    return std::string(R"({"service_id":")") + service + R"(","plan_id":")" + plan +
           R"(","bind_resource":{"app_guid":")" + app + R"("},"parameters":)" + parameters +
           R"(,"context":{"space_name":"bind-space"}})";
}

inline const std::string instances = "/broker/v2/service_instances/";

}  // namespace broker_test
