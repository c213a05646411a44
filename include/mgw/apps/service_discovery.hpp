// Apps module: Prometheus HTTP service discovery (`GET /v1/sd`, the `http_sd_configs` format):
// one target per app the gateway can answer for, scraped at the app's merged endpoint.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/routes/route_snapshot.hpp>

namespace mgw::apps {

// An app another module can answer for without the route table (pushed metrics, RSocket
// clients; a cluster's peers later): its GUID and the CF labels it knows (organization_id,
// space_id, organization_name, space_name, app_name; any may be missing).
struct known_app {
    std::string app_guid;
    std::map<std::string, std::string> labels;
};

// What a module that holds apps outside the route table tells service discovery. Called from
// HTTP handlers on any thread: implementations copy under their own lock and never wait on I/O.
class app_directory {
  public:
    virtual ~app_directory() = default;
    // The fixed name of the source in `__meta_cf_sources` ("push", "rsocket").
    virtual std::string_view directory_name() const = 0;
    virtual void list_apps(std::vector<known_app>& out) const = 0;
};

// The directory's apps, as the SD core takes them.
struct directory_listing {
    std::string_view name;
    std::vector<known_app> apps;
};

// A directory's apps as another gateway of the cluster listed them (its name owned here).
struct remote_listing {
    std::string name;
    std::vector<known_app> apps;
};

// Adds the peers' listings to this node's: a remote directory's apps join the local directory
// of the same name, so `__meta_cf_sources` names a source the same way, in the same order, on
// every node; a name this node has no directory for follows as a directory of its own (its
// view points into `remote`, which must outlive `local`). discover_targets then dedupes by GUID.
void merge_remote_listings(std::vector<directory_listing>& local,
                           std::span<const remote_listing> remote);

// Exact, case-sensitive name filters (the query's org=, space=, app=); empty: any.
struct sd_filter {
    std::string org;
    std::string space;
    std::string app;
};

// One `{targets, labels}` group: Prometheus scrapes `target` at `metrics_path`.
struct sd_target_group {
    std::string app_guid;
    std::map<std::string, std::string> labels;  // __meta_cf_* and __metrics_path__, __scheme__
};

struct sd_options {
    std::string target;           // host:port Prometheus reaches the gateway at
    std::string scheme = "http";  // of the main listener
};

// One group per app GUID: the route table's web instances first (their tags win), then each
// directory in order, which adds its name to `__meta_cf_sources` and fills labels the earlier
// sources lacked. Only app GUIDs that are UUIDs (as CF's are) become targets: the app endpoint
// resolves nothing else as a GUID. Keyed and ordered by text::canonical_uuid's spelling.
std::vector<sd_target_group> discover_targets(const routes::route_snapshot& routes,
                                              std::span<const directory_listing> directories,
                                              const sd_filter& filter);

// The groups as the JSON Prometheus expects:
// [{"targets": ["<target>"], "labels": {"__metrics_path__": "/v2/apps/<guid>/metrics", ...}}].
std::string sd_json(std::span<const sd_target_group> groups, const sd_options& options);

// An app's merged endpoint as the app endpoint resolves it: `/v2/apps/<org>/<space>/<app>/metrics`
// with each name percent-encoded (RFC 3986 unreserved bytes kept) when all three are known and
// none holds a '/', else `/v2/apps/<guid>/metrics`; empty when neither can name the app.
std::string merged_endpoint_path(std::string_view org, std::string_view space, std::string_view app,
                                 std::string_view app_guid);

// The `host[:port]` of a Host header, when it is one (letters, digits, '.', '-', ':', '[', ']'
// and at most 255 bytes); the empty view otherwise, so that a request cannot make the answer
// name another server than the gateway's own spelling allows.
std::string_view sd_target_from_host(std::string_view host);

}  // namespace mgw::apps
