// One registry for the whole gateway, serialized with prometheus-cpp's text serializer together
// with the process collector, which is not registered so tests can swap it.
#include <algorithm>

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <mgw/core/metrics.hpp>
#include <mgw/core/version.hpp>

namespace mgw::core {

gateway_metrics::gateway_metrics() : gateway_metrics(std::make_shared<process_collector>()) {}

gateway_metrics::gateway_metrics(std::shared_ptr<process_collector> process)
    : registry_(std::make_shared<prometheus::Registry>()), process_(std::move(process)) {
    prometheus::BuildGauge()
        .Name("mgw_build_info")
        .Help("Build information of metrics-gateway; the value is always 1.")
        .Register(*registry_)
        .Add({{"version", std::string(version())}})
        .Set(1);
}

std::vector<prometheus::MetricFamily> gateway_metrics::collect() const {
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    if (process_) {
        std::vector<prometheus::MetricFamily> process = process_->Collect();
        families.insert(families.end(), std::make_move_iterator(process.begin()),
                        std::make_move_iterator(process.end()));
    }
    std::stable_sort(families.begin(), families.end(),
                     [](const prometheus::MetricFamily& a, const prometheus::MetricFamily& b) {
                         return a.name < b.name;
                     });
    return families;
}

std::string gateway_metrics::serialize() const {
    return prometheus::TextSerializer().Serialize(collect());
}

}  // namespace mgw::core
