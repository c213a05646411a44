// libFuzzer target for the Metrics Forwarder body decoder: every input either decodes into a
// request that satisfies the decoder's promises (bounded, names valid, tags sorted and unique,
// values finite, counters non-negative) or is refused with a field and a message whose JSON
// rendering stays well-formed.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json/parse.hpp>

#include "mgw/push/push_request.hpp"

namespace {

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool valid_name(std::string_view name, bool colons) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || (colons && c == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

void check(const mgw::push::push_request& request, const mgw::push::decode_limits& limits) {
    std::size_t metrics = 0;
    for (const auto& application : request.applications) {
        require(!application.id.empty());
        for (const auto& instance : application.instances) {
            require(!instance.index.empty() && instance.index.size() <= 20);
            require(instance.index.size() == 1 || instance.index.front() != '0');
            for (const auto& metric : instance.metrics) {
                ++metrics;
                require(valid_name(metric.name, true));
                require(std::isfinite(metric.value));
                if (metric.type == mgw::push::pushed_type::counter) {
                    require(metric.value >= 0);
                } else {
                    require(!metric.integer_value);
                }
                require(metric.tags.size() <= limits.max_tags);
                for (std::size_t i = 0; i < metric.tags.size(); ++i) {
                    require(valid_name(metric.tags[i].first, false));
                    require(!metric.tags[i].first.starts_with("__"));
                    require(i == 0 || metric.tags[i - 1].first < metric.tags[i].first);
                }
            }
        }
    }
    require(metrics == request.metric_count);
    require(metrics <= limits.max_metrics);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    mgw::push::decode_limits limits;
    limits.max_metrics = 64;  // small enough for the fuzzer to reach the bound
    const auto result = mgw::push::decode_push_request(input, limits);
    if (result.has_value()) {
        check(*result, limits);
    } else {
        const auto& error = result.error();
        require(!error.field.empty() && !error.message.empty());
        require(&error.code.category() == &mgw::push::error_category());
        // What a 422 sends must itself be JSON.
        boost::system::error_code ec;
        boost::json::parse(error.to_json(), ec);
        require(!ec);
    }
    return 0;
}
