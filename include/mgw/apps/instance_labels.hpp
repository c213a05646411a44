// Apps module: the Cloud Foundry labels every merged sample carries, in Promfetcher's order,
// built once per instance from its route-table endpoint.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include <mgw/exposition/model.hpp>
#include <mgw/routes/endpoint.hpp>

namespace mgw::apps {

inline constexpr std::array<std::string_view, 9> cf_label_names = {
    "organization_id", "space_id", "app_id",      "organization_name", "space_name",
    "app_name",        "index",    "instance_id", "instance"};

// The nine labels of one instance. The exposition labels point into this object's own strings,
// so it never moves: keep instances in a container sized once.
class instance_labels {
  public:
    instance_labels() = default;
    instance_labels(const instance_labels&) = delete;
    instance_labels& operator=(const instance_labels&) = delete;

    void assign(const routes::endpoint& endpoint);

    std::span<const exposition::label> labels() const { return labels_; }
    // Escaped value by position in cf_label_names.
    std::string_view value(std::size_t position) const { return values_[position]; }
    // `organization_id="…",…,instance="…"` for hand-written series.
    std::string rendered() const;

  private:
    std::array<std::string, cf_label_names.size()> values_;
    std::array<exposition::label, cf_label_names.size()> labels_;
};

}  // namespace mgw::apps
