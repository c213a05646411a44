// The status console's renderer: one self-contained HTML page from a status_snapshot. Pure (no
// I/O, no clock) so that escaping, empty states and links are tested without a socket; every
// string that comes from the platform or a client (app names, subscription ids, binding ids)
// goes through html_escape.
#include "status_page.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include <mgw/text/uuid.hpp>

namespace mgw::gateway {

namespace {

using std::chrono::duration_cast;
using seconds = std::chrono::seconds;

// Narrow screens get the same tables, scrolled sideways inside their section, and a smaller
// type; nothing is hidden.
constexpr std::string_view style = R"(
:root{color-scheme:light dark;--line:#8884;--muted:#888}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:12px 16px}
h1{font-size:1.4em;margin:.4em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;white-space:nowrap}td.n,th.n{text-align:right;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}code{overflow-wrap:anywhere}td.id{white-space:nowrap;font-size:.85em}
code.guid{font-size:.8em;color:var(--muted);white-space:nowrap}
.ok{color:#1a7f37}.bad{color:#cf222e}.muted{color:var(--muted)}
@media (max-width:600px){body{font-size:13px;padding:8px}th,td{padding:3px 5px}}
)";

void append_escaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
}

// The page being written: helpers that escape every dynamic value.
struct page {
    std::string out;

    void raw(std::string_view html) { out += html; }
    void text(std::string_view t) { append_escaped(out, t); }
    void element(std::string_view tag, std::string_view t, std::string_view cls = {}) {
        out += '<';
        out += tag;
        if (!cls.empty()) {
            out += " class=\"";
            out += cls;
            out += '"';
        }
        out += '>';
        text(t);
        out += "</";
        out += tag;
        out += '>';
    }
    void cell(std::string_view t) { element("td", t); }
    void number(std::uint64_t n) { element("td", fmt::format("{}", n), "n"); }
    void link(std::string_view href, std::string_view t) {
        out += "<a href=\"";
        text(href);
        out += "\">";
        text(t);
        out += "</a>";
    }
    void header_row(std::initializer_list<std::string_view> names) {
        out += "<thead><tr>";
        for (std::string_view name : names) {
            // Right-aligned numeric columns are marked with a leading '#'.
            if (!name.empty() && name.front() == '#') {
                element("th", name.substr(1), "n");
            } else {
                element("th", name);
            }
        }
        out += "</tr></thead>";
    }
    void open_table(std::initializer_list<std::string_view> names) {
        out += "<div class=\"scroll\"><table>";
        header_row(names);
        out += "<tbody>";
    }
    void close_table(std::size_t shown, std::size_t total) {
        out += "</tbody></table></div>";
        if (total > shown) {
            element("p", fmt::format("{} more not shown (at most {} rows).", total - shown, shown),
                    "muted");
        }
    }
    void pair(std::string_view name, std::string_view value, std::string_view cls = {}) {
        element("dt", name);
        element("dd", value, cls);
    }
    void section(std::string_view id, std::string_view title) {
        out += "<section id=\"";
        out += id;  // fixed identifiers only
        out += "\"><h2>";
        text(title);
        out += "</h2>";
    }
    void end_section() { out += "</section>"; }
    void empty(std::string_view t) { element("p", t, "muted"); }
};

std::string format_duration(std::chrono::steady_clock::duration d) {
    const double s = std::chrono::duration<double>(d).count();
    if (s < 1) {
        return fmt::format("{:.0f} ms", s * 1000);
    }
    return fmt::format("{:.2f} s", s);
}

std::string format_bytes(std::size_t bytes) {
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    if (bytes < std::size_t{1} << 20) {
        return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
    }
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

std::string label_of(const std::map<std::string, std::string>& labels, const std::string& name) {
    const auto it = labels.find(name);
    return it == labels.end() ? std::string() : it->second;
}

// "org / space / app", with what is unknown left out.
std::string display_name(std::string_view org, std::string_view space, std::string_view app) {
    std::string name;
    for (std::string_view part : {org, space, app}) {
        if (part.empty()) {
            continue;
        }
        if (!name.empty()) {
            name += " / ";
        }
        name += part;
    }
    return name;
}

std::string errors_text(const std::map<std::string, std::size_t>& errors) {
    std::string text;
    for (const auto& [reason, count] : errors) {
        if (!text.empty()) {
            text += ", ";
        }
        text += fmt::format("{} {}", reason, count);
    }
    return text;
}

std::string use_text(std::uint32_t used, const std::optional<std::uint32_t>& limit) {
    return limit ? fmt::format("{} / {}", used, *limit) : fmt::format("{} / unlimited", used);
}

void gateway_section(page& p, const status_snapshot& s) {
    p.section("gateway", "Gateway");
    p.raw("<dl>");
    p.pair("Version", s.version);
    p.pair("Uptime", format_age(s.uptime));
    if (s.cluster) {
        p.pair("Cluster", fmt::format("{}, node {}", s.cluster->name, s.cluster->node));
    } else {
        p.pair("Cluster", "single node");
    }
    p.raw("</dl>");
    p.end_section();
}

void listeners_section(page& p, const status_snapshot& s) {
    p.section("listeners", "Listeners");
    if (s.listeners.empty()) {
        p.empty("No listener.");
    } else {
        p.open_table({"Listener", "Address", "TLS"});
        for (const listener_status& l : s.listeners) {
            p.raw("<tr>");
            p.cell(l.name);
            p.raw("<td><code>");
            p.text(l.address);
            p.raw("</code></td>");
            p.cell(l.tls ? "yes" : "no");
            p.raw("</tr>");
        }
        p.close_table(s.listeners.size(), s.listeners.size());
    }
    p.end_section();
}

void nats_section(page& p, const status_snapshot& s) {
    p.section("nats", "NATS");
    if (!s.nats) {
        p.empty("Off: no NATS servers configured (static routes only).");
        p.end_section();
        return;
    }
    std::string servers;
    for (const std::string& server : s.nats->servers) {
        servers += servers.empty() ? "" : ", ";
        servers += server;
    }
    p.raw("<dl>");
    p.pair("State", s.nats->connected ? "connected" : "not connected",
           s.nats->connected ? "ok" : "bad");
    p.pair("Servers", servers);
    p.pair("Disconnects", fmt::format("{}", s.nats->disconnects));
    p.pair("Reconnects", fmt::format("{}", s.nats->reconnects));
    p.raw("</dl>");
    p.end_section();
}

// The broker's binding store: shared through JetStream KV or per node.
void bindings_store_pairs(page& p, const status_snapshot& s) {
    if (!s.bindings_store) {
        return;
    }
    const cluster::bindings_store_status& b = *s.bindings_store;
    if (!b.shared) {
        p.pair("Broker bindings",
               "local: each node's own (no JetStream); a key works only on the node that issued it",
               "bad");
        return;
    }
    p.pair("Broker bindings", fmt::format("kv: bucket {}, {} instances, {} bindings", b.bucket,
                                          b.instances, b.bindings));
    p.pair("Last change applied", b.last_applied
                                      ? fmt::format("revision {}, {} ago", b.last_revision,
                                                    format_age(s.now - *b.last_applied))
                                      : std::string("none yet"));
    const bool answering = b.last_answer && s.now - *b.last_answer <= cluster::jetstream_silence;
    p.pair("JetStream",
           answering ? std::string("reachable")
                     : (b.last_answer ? "not answering (last answer " +
                                            format_age(s.now - *b.last_answer) + " ago)"
                                      : std::string("not answering (never answered)")),
           answering ? "ok" : "bad");
}

void cluster_section(page& p, const status_snapshot& s) {
    p.section("cluster", "Cluster");
    if (!s.cluster) {
        p.empty("Off: single node (cluster.enabled is false).");
        p.end_section();
        return;
    }
    const cluster::cluster_status& c = *s.cluster;
    p.raw("<dl>");
    p.pair("Name", c.name);
    p.pair("This node", fmt::format("{} (boot {})", c.node, c.boot));
    p.pair("State",
           c.connected ? "connected: answers gather from the live peers"
                       : "not connected: answers have this node's series only",
           c.connected ? "ok" : "bad");
    p.pair("Gathers", fmt::format("{} ({} partial)", c.gathers, c.partial));
    bindings_store_pairs(p, s);
    p.raw("</dl>");
    if (c.peers.empty()) {
        p.empty("No live peer.");
    } else {
        p.open_table({"Peer", "Boot", "Last heard"});
        const std::size_t shown = std::min(c.peers.size(), status_page_max_rows);
        for (std::size_t i = 0; i < shown; ++i) {
            p.raw("<tr>");
            p.cell(c.peers[i].node);
            p.raw("<td class=\"id\"><code>");
            p.text(c.peers[i].boot);
            p.raw("</code></td>");
            p.cell(format_age(s.now - c.peers[i].last_heard) + " ago");
            p.raw("</tr>");
        }
        p.close_table(shown, c.peers.size());
    }
    p.end_section();
}

void routes_section(page& p, const status_snapshot& s) {
    const routes::route_summary& r = s.routes;
    p.section("routes", "Route table");
    p.raw("<dl>");
    p.pair("Apps", fmt::format("{}", r.apps));
    p.pair("Instances", fmt::format("{}", r.instances));
    p.pair("Routes", fmt::format("{}", r.routes));
    p.pair("Endpoints", fmt::format("{} ({} static)", r.endpoints, r.static_endpoints));
    p.pair("Newest registration",
           r.newest_registration_age ? format_age(*r.newest_registration_age) + " ago" : "none");
    p.pair("Oldest registration",
           r.oldest_registration_age ? format_age(*r.oldest_registration_age) + " ago" : "none");
    p.raw("</dl>");
    p.end_section();
}

// One app row: who it is, where its merged answer is, and how its last scrape went.
struct app_row {
    std::string name;
    std::string guid;
    std::string sources;
    std::string instances;
    std::string link;
    const apps::app_scrape_record* scrape = nullptr;
};

void apps_section(page& p, const status_snapshot& s) {
    std::map<std::string, const apps::app_scrape_record*> scrape_by_guid;
    for (const apps::app_scrape_record& record : s.scrapes) {
        if (!record.app_guid.empty()) {
            scrape_by_guid.emplace(record.app_guid, &record);
        }
    }
    std::vector<app_row> rows;
    rows.reserve(s.apps.size());
    std::map<std::string, bool> listed;
    for (const apps::sd_target_group& app : s.apps) {
        const std::string org = label_of(app.labels, "__meta_cf_org_name");
        const std::string space = label_of(app.labels, "__meta_cf_space_name");
        const std::string name = label_of(app.labels, "__meta_cf_app_name");
        std::string sources = label_of(app.labels, "__meta_cf_sources");
        // ",routes,push," as Prometheus wants it; "routes, push" for a person.
        std::string shown_sources;
        for (std::size_t start = 0; start < sources.size();) {
            const std::size_t end = std::min(sources.find(',', start), sources.size());
            if (end > start) {
                shown_sources += shown_sources.empty() ? "" : ", ";
                shown_sources += sources.substr(start, end - start);
            }
            start = end + 1;
        }
        app_row& row = rows.emplace_back();
        row.name = display_name(org, space, name);
        row.guid = app.app_guid;
        row.sources = std::move(shown_sources);
        row.instances = label_of(app.labels, "__meta_cf_instances");
        row.link = apps::merged_endpoint_path(org, space, name, app.app_guid);
        if (const auto it = scrape_by_guid.find(app.app_guid); it != scrape_by_guid.end()) {
            row.scrape = it->second;
            listed[app.app_guid] = true;
        }
    }
    // By name for a person (org, space, app), as discovery orders them by GUID.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const app_row& a, const app_row& b) { return a.name < b.name; });
    // Scraped apps service discovery does not list (gone since, or asked for by route).
    for (const apps::app_scrape_record& record : s.scrapes) {
        if (!record.app_guid.empty() && listed.contains(record.app_guid)) {
            continue;
        }
        app_row& row = rows.emplace_back();
        row.name = display_name(record.org, record.space, record.app);
        if (row.name.empty()) {
            row.name = record.identifier;
        }
        row.guid = record.app_guid;
        row.sources = "scraped, not discovered now";
        row.link =
            apps::merged_endpoint_path(record.org, record.space, record.app, record.app_guid);
        row.scrape = &record;
    }

    p.section("apps", "Apps");
    p.element("p",
              fmt::format("{} apps the gateway can answer for. Last scrapes are kept for the {} "
                          "most recently scraped apps.",
                          s.apps.size(), s.scrape_capacity),
              "muted");
    if (rows.empty()) {
        p.empty("No app known yet: none registered in the route table, pushed or connected.");
        p.end_section();
        return;
    }
    p.open_table({"App", "Sources", "#Instances", "Merged endpoint", "Last scrape", "#Up", "#Down",
                  "#Duration", "Errors by reason"});
    const std::size_t shown = std::min(rows.size(), status_page_max_rows);
    for (std::size_t i = 0; i < shown; ++i) {
        const app_row& row = rows[i];
        p.raw("<tr>");
        // The GUID under the name, small: one column less for a laptop's width.
        p.raw("<td><span class=\"name\">");
        p.text(row.name.empty() ? "(unnamed)" : row.name);
        p.raw("</span>");
        if (!row.guid.empty()) {
            p.raw("<br><code class=\"guid\">");
            p.text(row.guid);
            p.raw("</code>");
        }
        p.raw("</td>");
        p.cell(row.sources);
        p.element("td", row.instances, "n");
        p.raw("<td>");
        if (row.link.empty()) {
            p.text("none");
        } else {
            p.link(row.link, "metrics");
        }
        p.raw("</td>");
        if (row.scrape == nullptr) {
            p.element("td", "none recorded", "muted");
            p.raw("<td></td><td></td><td></td><td></td>");
        } else {
            const apps::app_scrape_record& r = *row.scrape;
            p.cell(format_age(s.now - r.at) + fmt::format(" ago, HTTP {}", r.status));
            p.number(r.instances_up);
            p.element("td", fmt::format("{}", r.instances_down),
                      r.instances_down > 0 ? "n bad" : "n");
            p.element("td", format_duration(r.duration), "n");
            p.cell(errors_text(r.errors));
        }
        p.raw("</tr>");
    }
    p.close_table(shown, rows.size());
    p.end_section();
}

void push_section(page& p, const status_snapshot& s) {
    p.section("push", "Push bindings");
    if (!s.push_enabled) {
        p.empty("Off: push is disabled or no service broker issues access keys.");
        p.end_section();
        return;
    }
    if (s.push_bindings.empty()) {
        p.empty("No push binding.");
        p.end_section();
        return;
    }
    std::map<std::string_view, const push::window_use*> use;
    for (const push::window_use& u : s.push_use) {
        use.emplace(u.binding_id, &u);
    }
    p.element("p", "Rate-limit use of the current minute (used / limit).", "muted");
    p.open_table({"Binding", "App", "Plan", "#Requests", "#Metrics"});
    const std::size_t shown = std::min(s.push_bindings.size(), status_page_max_rows);
    for (std::size_t i = 0; i < shown; ++i) {
        const push::push_binding& b = s.push_bindings[i];
        const auto it = use.find(b.binding_id);
        const push::window_use none;
        const push::window_use& u = it == use.end() ? none : *it->second;
        const std::string name =
            display_name(label_of(b.labels, "organization_name"), label_of(b.labels, "space_name"),
                         label_of(b.labels, "app_name"));
        p.raw("<tr><td class=\"id\"><code>");
        p.text(b.binding_id);
        p.raw("</code></td>");
        p.cell(name.empty() ? b.app_guid : name + " (" + b.app_guid + ")");
        p.element("td", b.plan_id, "id");
        p.element("td", use_text(u.requests, b.limits.requests_per_minute), "n");
        p.element("td", use_text(u.metrics, b.limits.metrics_per_minute), "n");
        p.raw("</tr>");
    }
    p.close_table(shown, s.push_bindings.size());
    p.end_section();
}

void rsocket_section(page& p, const status_snapshot& s) {
    p.section("rsocket", "RSocket clients");
    if (!s.rsocket) {
        p.empty("Off: no RSocket listener configured.");
        p.end_section();
        return;
    }
    const rsocket::proxy_status& r = *s.rsocket;
    p.raw("<dl>");
    p.pair("Connections", fmt::format("{}", r.open_connections));
    p.pair("Ready clients", fmt::format("{}", r.ready_clients));
    p.pair("Held pushes", fmt::format("{} ({})", r.held_pushes, format_bytes(r.held_push_bytes)));
    p.raw("</dl>");
    if (r.apps.empty()) {
        p.empty("No client has joined an app.");
    } else {
        // Discovery knows the app's names when a route, a push or a binding told them.
        std::map<std::string, const apps::sd_target_group*, std::less<>> known;
        for (const apps::sd_target_group& app : s.apps) {
            known.emplace(app.app_guid, &app);
        }
        p.open_table({"App", "GUID", "#Clients", "Merged endpoint"});
        const std::size_t shown = std::min(r.apps.size(), status_page_max_rows);
        for (std::size_t i = 0; i < shown; ++i) {
            const std::string& guid = r.apps[i].app_guid;
            const auto it = known.find(text::canonical_uuid(guid).value_or(guid));
            std::string org, space, name;
            if (it != known.end()) {
                org = label_of(it->second->labels, "__meta_cf_org_name");
                space = label_of(it->second->labels, "__meta_cf_space_name");
                name = label_of(it->second->labels, "__meta_cf_app_name");
            }
            p.raw("<tr>");
            p.cell(display_name(org, space, name));
            p.raw("<td class=\"id\"><code>");
            p.text(guid);
            p.raw("</code></td>");
            p.number(r.apps[i].clients);
            p.raw("<td>");
            p.link(apps::merged_endpoint_path(org, space, name, guid), "metrics");
            p.raw("</td></tr>");
        }
        p.close_table(shown, r.apps.size());
    }
    p.end_section();
}

void bosh_section(page& p, const status_snapshot& s) {
    p.section("bosh", "BOSH subscriptions");
    if (!s.bosh_subscriptions) {
        p.empty("Off: no BOSH ingest listener configured.");
        p.end_section();
        return;
    }
    const std::vector<bosh::subscription_stats>& subs = *s.bosh_subscriptions;
    if (subs.empty()) {
        p.empty("No subscription.");
        p.end_section();
        return;
    }
    p.open_table({"Subscription", "#Consumers", "#Queued", "#Queued bytes", "#Delivered",
                  "#Dropped (queue full)", "#Dropped (memory)"});
    const std::size_t shown = std::min(subs.size(), status_page_max_rows);
    for (std::size_t i = 0; i < shown; ++i) {
        const bosh::subscription_stats& sub = subs[i];
        p.raw("<tr><td><code>");
        p.text(sub.id.empty() ? "(empty id)" : sub.id);
        p.raw("</code></td>");
        p.number(sub.consumers);
        p.number(sub.queued);
        p.element("td", format_bytes(sub.queued_bytes), "n");
        p.number(sub.delivered);
        p.element("td", fmt::format("{}", sub.dropped_full), sub.dropped_full ? "n bad" : "n");
        p.element("td", fmt::format("{}", sub.dropped_memory), sub.dropped_memory ? "n bad" : "n");
        p.raw("</tr>");
    }
    p.close_table(shown, subs.size());
    p.end_section();
}

void loggregator_section(page& p, const status_snapshot& s) {
    p.section("loggregator", "Loggregator");
    if (!s.loggregator) {
        p.empty("Off: neither loggregator.push nor loggregator.bosh is set.");
        p.end_section();
        return;
    }
    const loggregator::emitter_status& l = *s.loggregator;
    std::string forwards;
    for (const auto& [on, what] : {std::pair{l.push, "pushes"}, std::pair{l.bosh, "heartbeats"},
                                   std::pair{l.alerts, "alerts"}}) {
        if (on) {
            forwards += forwards.empty() ? "" : ", ";
            forwards += what;
        }
    }
    std::string dropped;
    for (const auto& [reason, count] : l.dropped) {
        dropped += dropped.empty() ? "" : ", ";
        dropped += fmt::format("{} {}", reason, count);
    }
    p.raw("<dl>");
    p.pair("Agent", l.agent);
    p.pair("State", l.agent_up ? "connected" : "not connected", l.agent_up ? "ok" : "bad");
    p.pair("Forwards", forwards.empty() ? "nothing" : forwards);
    p.pair("Queued",
           fmt::format("{} envelopes ({})", l.queued_envelopes, format_bytes(l.queued_bytes)));
    p.pair("Sent", fmt::format("{} envelopes", l.sent));
    p.pair("Dropped", dropped);
    p.raw("</dl>");
    p.end_section();
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
    return out;
}

std::string format_age(std::chrono::steady_clock::duration age) {
    const auto total = std::max<std::int64_t>(0, duration_cast<seconds>(age).count());
    const std::int64_t days = total / 86400;
    const std::int64_t hours = total % 86400 / 3600;
    const std::int64_t minutes = total % 3600 / 60;
    const std::int64_t secs = total % 60;
    if (days > 0) {
        return fmt::format("{} d {} h", days, hours);
    }
    if (hours > 0) {
        return fmt::format("{} h {} min", hours, minutes);
    }
    if (minutes > 0) {
        return fmt::format("{} min {} s", minutes, secs);
    }
    return fmt::format("{} s", secs);
}

std::string render_status_page(const status_snapshot& snapshot) {
    page p;
    p.out.reserve(16384 + snapshot.apps.size() * 512);
    p.raw(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        // No favicon request to answer with a 404: the icon is empty and inline.
        "<link rel=\"icon\" href=\"data:,\">"
        "<title>metrics-gateway status</title><style>");
    p.raw(style);
    p.raw("</style></head><body><header><h1>metrics-gateway status</h1>");
    p.element("p", "A snapshot taken when this page was served; reload for a new one.", "muted");
    p.raw("</header><main>");
    gateway_section(p, snapshot);
    listeners_section(p, snapshot);
    nats_section(p, snapshot);
    cluster_section(p, snapshot);
    routes_section(p, snapshot);
    apps_section(p, snapshot);
    push_section(p, snapshot);
    rsocket_section(p, snapshot);
    bosh_section(p, snapshot);
    loggregator_section(p, snapshot);
    p.raw("</main></body></html>\n");
    return std::move(p.out);
}

}  // namespace mgw::gateway
