// Benchmark support: the Metrics Forwarder bodies the push benchmarks send, shaped like the Java
// metric writer's (Micrometer names with dots, three tags each, one instance per body), stamped
// with the time they are made (the push path refuses timestamps more than an hour old).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

inline std::string forwarder_body(std::size_t metrics, std::string_view app_guid, int instance) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::string body = R"({"applications":[{"id":")";
    body += app_guid;
    body += R"(","instances":[{"id":"e1c62cb4-4d5b-4a6a-6d1f-)";
    body += std::to_string(instance);
    body += R"(","index":")";
    body += std::to_string(instance);
    body += R"(","metrics":[)";
    for (std::size_t i = 0; i < metrics; ++i) {
        if (i != 0) {
            body.push_back(',');
        }
        body += R"({"name":"http.server.requests.m)";
        body += std::to_string(i % 25);
        body += R"(","tags":{"method":"GET","uri":"/api/v)";
        body += std::to_string(i / 25);
        body += R"(","statistic":")";
        body += (i % 2) != 0 ? "count" : "max";
        body += R"("},"timestamp":)";
        body += std::to_string(now_ms);
        body += R"(,"type":"gauge","value":)";
        body += std::to_string(12345.678 + static_cast<double>(i));
        body += "}";
    }
    body += "]}]}],\"version\":1}";
    return body;
}
