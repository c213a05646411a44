// Loggregator module: HM events as the BOSH System Metrics Forwarder emitted them
// (bosh-system-metrics-forwarder-release, src/pkg/mapper): a heartbeat is one v2 Gauge of all
// its metrics, names with their dots, units by name (b, Load, Percent, Kb), timestamp in ns, no
// source_id, tags job, index (the instance id: the original's quirk, kept), id, origin
// bosh-system-metrics-forwarder, deployment and ip. The original dropped alerts; here they may
// go out as v2 Events (loggregator.alerts). Pure.
#pragma once

#include <string_view>

#include <mgw/bosh/hm_event.hpp>

#include "envelope_queue.hpp"

namespace mgw::loggregator {

inline constexpr std::string_view bosh_origin = "bosh-system-metrics-forwarder";

// The unit the forwarder gave a heartbeat metric; "" for a name it did not know.
std::string_view heartbeat_unit(std::string_view metric_name);

// `ip_tag` is the forwarder's --envelope-ip-tag; empty: no ip tag (the agent then adds its own).
// Both set the parcel's source to bosh.
void append_heartbeat_envelope(parcel& out, const bosh::hm_heartbeat& heartbeat,
                               std::string_view ip_tag);
// A v2 Event: title, body = the summary, tags origin, deployment, severity (1-4 as text),
// category, source (HM's description of the instance) and alert_id, timestamp created_at.
void append_alert_envelope(parcel& out, const bosh::hm_alert& alert, std::string_view ip_tag);

}  // namespace mgw::loggregator
