// Apps module: what Promfetcher's external exporters are asked for one app and what their
// failures look like in the app's answer (as orange-cloudfoundry/promfetcher does). Pure: no I/O.
#pragma once

#include <array>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <mgw/apps/app_source.hpp>
#include <mgw/apps/external_exporter_config.hpp>
#include <mgw/core/tag_template.hpp>

namespace mgw::apps {

using tag_map = std::map<std::string, std::string>;

// The values an exporter's templates see for an app, as Promfetcher builds its pseudo-tags:
// the app's own tags (AppID, AppName, SpaceID, SpaceName, OrganizationID, OrganizationName,
// SourceID), ProcessType "external_exporter", Component "promfetcher", and ProcessID,
// ProcessInstanceID, InstanceID empty (an exporter is asked once per app, not per instance).
// The views point into `app_tags`.
core::tag_values exporter_tag_values(const tag_map& app_tags);

// The request target sent to the exporter for the app: its metrics_path as configured when it
// has no params; otherwise the path with the query Go's net/url would build, i.e. the query of
// metrics_path parsed, each param's expanded values replacing the key's, and everything
// re-encoded with keys sorted and url.QueryEscape (`source_id%5B%5D=<guid>`).
std::string exporter_request_path(const external_exporter_config& exporter,
                                  const core::tag_values& values);

// Appends `raw` escaped as Go's url.QueryEscape does: unreserved bytes (A-Z a-z 0-9 - _ . ~)
// as they are, space as '+', everything else %XX (upper-case hex).
void append_query_escaped(std::string& out, std::string_view raw);

// The six app labels every exporter series carries, in Promfetcher's order.
inline constexpr std::array<std::string_view, 6> app_label_names = {
    "organization_id", "space_id", "app_id", "organization_name", "space_name", "app_name"};

// One exporter that failed for one app, and why (an error class such as "timeout",
// "connect_refused", "status_503", "parse_error").
struct exporter_failure {
    const tag_map* app_tags = nullptr;
    const external_exporter_config* exporter = nullptr;
    std::string_view reason;
};

// Promfetcher's `promfetcher_scrape_external_exporter_error` family in Prometheus text 0.0.4,
// one sample of value 1 per failure with the app's six labels, index="" and instance_id=""
// (no instance), instance=<exporter host as configured>, name=<exporter name> and
// reason=<error class>; empty when there is none. A gauge, like the gateway's
// promfetcher_scrape_error, and with the same low-cardinality `reason` in place of
// Promfetcher's raw `error` text.
std::string render_exporter_errors(std::span<const exporter_failure> failures);

// The same family built directly as the contribution the merger takes (its storage holds the
// escaped label values the model's views point into): no text rendered and parsed again.
// Merging it gives byte for byte what merging the parsed render_exporter_errors gives
// (test/unit/apps/external_exporter_test.cpp); exporter names are unique (configuration), so
// no two failures of one app share a label set. Empty (nothing parsed) when there is none.
contributed_exposition exporter_errors_contribution(std::span<const exporter_failure> failures);

}  // namespace mgw::apps
