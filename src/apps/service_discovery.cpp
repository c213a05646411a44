// The service discovery core: the apps the gateway can answer for, from a route snapshot and
// the other modules' directories, as Prometheus http_sd target groups. No I/O.
#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <mgw/apps/service_discovery.hpp>
#include <mgw/text/uuid.hpp>

namespace mgw::apps {

namespace {

// CF tag (route registration, binding context) → its discovery label.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> cf_meta_labels{{
    {"organization_name", "__meta_cf_org_name"},
    {"organization_id", "__meta_cf_org_id"},
    {"space_name", "__meta_cf_space_name"},
    {"space_id", "__meta_cf_space_id"},
    {"app_name", "__meta_cf_app_name"},
}};

struct app_entry {
    std::map<std::string, std::string> tags;
    std::vector<std::string_view> sources;  // fixed names, in the order they knew the app
    std::size_t instances = 0;              // web instances in the route table
};

// The app endpoint resolves a single path segment as a GUID only when it is a UUID (anything
// else is taken for a route), so only those can be targets.
std::optional<std::string> guid_key(std::string_view guid) {
    return text::canonical_uuid(guid);
}

void add_source(app_entry& entry, std::string_view source) {
    if (std::find(entry.sources.begin(), entry.sources.end(), source) == entry.sources.end()) {
        entry.sources.push_back(source);
    }
}

// Fills the labels the app does not know yet: the first source that knows one wins.
void merge_tags(app_entry& entry, const std::map<std::string, std::string>& tags) {
    for (const auto& [tag, label] : cf_meta_labels) {
        if (const auto it = tags.find(std::string(tag)); it != tags.end() && !it->second.empty()) {
            entry.tags.emplace(it->first, it->second);
        }
    }
}

std::string_view tag_of(const app_entry& entry, const std::string& tag) {
    const auto it = entry.tags.find(tag);
    return it == entry.tags.end() ? std::string_view{} : std::string_view(it->second);
}

bool matches(const app_entry& entry, const sd_filter& filter) {
    return (filter.org.empty() || tag_of(entry, "organization_name") == filter.org) &&
           (filter.space.empty() || tag_of(entry, "space_name") == filter.space) &&
           (filter.app.empty() || tag_of(entry, "app_name") == filter.app);
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
}

bool unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// One path segment; the app endpoint unescapes the identifier once before splitting it.
void append_segment(std::string& out, std::string_view name) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : name) {
        if (unreserved(c)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xF];
        }
    }
}

}  // namespace

std::string merged_endpoint_path(std::string_view org, std::string_view space, std::string_view app,
                                 std::string_view app_guid) {
    const auto usable = [](std::string_view name) {
        return !name.empty() && name.find('/') == std::string_view::npos;
    };
    std::string path = "/v2/apps/";
    if (usable(org) && usable(space) && usable(app)) {
        append_segment(path, org);
        path += '/';
        append_segment(path, space);
        path += '/';
        append_segment(path, app);
    } else if (!app_guid.empty()) {
        append_segment(path, app_guid);
    } else {
        return {};
    }
    path += "/metrics";
    return path;
}

void merge_remote_listings(std::vector<directory_listing>& local,
                           std::span<const remote_listing> remote) {
    for (const remote_listing& peer : remote) {
        auto it = std::find_if(local.begin(), local.end(),
                               [&](const directory_listing& own) { return own.name == peer.name; });
        if (it == local.end()) {
            local.push_back({.name = peer.name, .apps = {}});
            it = std::prev(local.end());
        }
        it->apps.insert(it->apps.end(), peer.apps.begin(), peer.apps.end());
    }
}

std::vector<sd_target_group> discover_targets(const routes::route_snapshot& routes,
                                              std::span<const directory_listing> directories,
                                              const sd_filter& filter) {
    std::map<std::string, app_entry> apps;
    // Only web instances: they are what /v2/apps/<guid>/metrics resolves and scrapes.
    std::map<std::string, std::vector<std::string_view>> addresses;
    for (const auto& [route, endpoints] : routes.routes()) {
        for (const routes::endpoint_ptr& endpoint : endpoints) {
            const std::string_view app_id = endpoint->tag("app_id");
            if (app_id.empty() || endpoint->tag("process_type") != "web") {
                continue;
            }
            const std::optional<std::string> key = guid_key(app_id);
            if (!key) {
                continue;
            }
            app_entry& entry = apps[*key];
            merge_tags(entry, endpoint->tags);
            add_source(entry, "routes");
            auto& seen = addresses[*key];
            if (std::find(seen.begin(), seen.end(), endpoint->address) == seen.end()) {
                seen.push_back(endpoint->address);
                ++entry.instances;
            }
        }
    }
    for (const directory_listing& directory : directories) {
        for (const known_app& app : directory.apps) {
            const std::optional<std::string> key = guid_key(app.app_guid);
            if (!key) {
                continue;
            }
            app_entry& entry = apps[*key];
            merge_tags(entry, app.labels);
            add_source(entry, directory.name);
        }
    }

    std::vector<sd_target_group> groups;
    for (auto& [guid, entry] : apps) {
        if (!matches(entry, filter)) {
            continue;
        }
        sd_target_group& group = groups.emplace_back();
        group.app_guid = guid;
        for (const auto& [tag, label] : cf_meta_labels) {
            if (const auto it = entry.tags.find(std::string(tag)); it != entry.tags.end()) {
                group.labels.emplace(label, it->second);
            }
        }
        group.labels.emplace("__meta_cf_app_id", guid);
        // Prometheus' convention for lists (as __meta_consul_tags): delimited on both sides, so
        // that a regex `.*,push,.*` selects one source.
        std::string sources = ",";
        for (std::string_view source : entry.sources) {
            sources += source;
            sources += ',';
        }
        group.labels.emplace("__meta_cf_sources", std::move(sources));
        group.labels.emplace("__meta_cf_instances", std::to_string(entry.instances));
    }
    return groups;
}

std::string sd_json(std::span<const sd_target_group> groups, const sd_options& options) {
    boost::json::array out;
    out.reserve(groups.size());
    for (const sd_target_group& group : groups) {
        boost::json::object labels;
        for (const auto& [name, value] : group.labels) {
            labels[name] = value;
        }
        // A canonical UUID: hex digits and dashes, nothing to escape in a path.
        labels["__metrics_path__"] = "/v2/apps/" + group.app_guid + "/metrics";
        labels["__scheme__"] = options.scheme;
        boost::json::object entry;
        entry["targets"] = boost::json::array{boost::json::string(options.target)};
        entry["labels"] = std::move(labels);
        out.push_back(std::move(entry));
    }
    return boost::json::serialize(out);
}

std::string_view sd_target_from_host(std::string_view host) {
    if (host.empty() || host.size() > 255 || !std::all_of(host.begin(), host.end(), host_char)) {
        return {};
    }
    return host;
}

}  // namespace mgw::apps
