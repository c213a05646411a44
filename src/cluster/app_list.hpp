// Cluster module: a peer's answer to an apps request (for /v1/sd), the apps its directories
// (pushed metrics, RSocket clients) know, as pure encode/decode functions. The route table's
// apps are not sent: every node hears the same route registrations over NATS.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/apps/service_discovery.hpp>

namespace mgw::cluster {

// {"directories":[{"name":"push","apps":[{"app_guid":"…","labels":{"app_name":"…"}}]}]}
std::string encode_app_list(std::span<const apps::directory_listing> directories);

// nullopt when the text is not such a list, or a directory's name is not a source name (1 to
// 32 bytes of [a-z0-9_-]: it becomes part of `__meta_cf_sources`), or an app has no GUID.
std::optional<std::vector<apps::remote_listing>> decode_app_list(std::string_view text);

}  // namespace mgw::cluster
