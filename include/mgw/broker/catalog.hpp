// Broker module: the service catalog the Cloud Controller reads from GET /v2/catalog: the
// Promfetcher-compatible `promfetcher` service and the `metrics-forwarder` service with its plans.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <mgw/broker/config.hpp>
#include <mgw/push/binding_directory.hpp>

namespace mgw::broker {

// What binding an instance of the service does.
enum class service_kind {
    promfetcher,        // bind parameters {"endpoint": "/path"}: the app's custom metrics path
    metrics_forwarder,  // bind returns {endpoint, access_key} for POST /v1/metrics
};

struct plan {
    std::string id;
    std::string name;
    std::string description;
    push::rate_limits limits;  // unlimited for promfetcher
};

struct service {
    service_kind kind;
    std::string id;
    std::string name;
    std::string description;
    std::vector<plan> plans;
};

class catalog {
  public:
    explicit catalog(const broker_config& config);

    const std::vector<service>& services() const { return services_; }
    const service* find_service(std::string_view service_id) const;
    // The plan `plan_id` of service `service_id`; null when either is unknown or the plan
    // belongs to another service.
    const plan* find_plan(std::string_view service_id, std::string_view plan_id) const;

    // The body of GET /v2/catalog (computed once: the catalog never changes while running).
    const std::string& json() const { return json_; }

  private:
    std::vector<service> services_;
    std::string json_;
};

}  // namespace mgw::broker
