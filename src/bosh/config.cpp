// Reads the `bosh` section with the core YAML toolkit, and turns it into the options of the
// BOSH service and of its gRPC egress.
#include <algorithm>

#include <fmt/format.h>

#include <mgw/bosh/config.hpp>

#include "grpc_event.hpp"

namespace mgw::bosh {

using core::config_element_path;
using core::config_error;
using core::config_section;
using core::read_bool;
using core::read_byte_size;
using core::read_duration;
using core::read_optional_address;
using core::read_server_tls;
using core::read_string;
using core::read_string_list;
using core::read_uint;
using core::zero_duration;

namespace {

void read_bosh_grpc(const YAML::Node& node, const std::string& path, bosh_config& bosh) {
    bosh_grpc_config& out = bosh.grpc;
    const config_section s(
        node, path,
        {"listen", "tls", "max_connections", "max_concurrent_streams", "send_queue_bytes",
         "keepalive_time", "keepalive_timeout", "ping_min_time"});
    read_optional_address(s, "listen", out.listen);
    read_server_tls(s.get("tls"), s.path_of("tls"), out.tls);
    read_uint(s, "max_connections", out.max_connections, 1, 1'000'000);
    read_uint(s, "max_concurrent_streams", out.max_concurrent_streams, 1, 100'000);
    read_uint(s, "send_queue_bytes", out.send_queue_bytes, 16384, std::uint64_t{1} << 30);
    read_duration(s, "keepalive_time", out.keepalive_time, zero_duration::allowed);
    read_duration(s, "keepalive_timeout", out.keepalive_timeout, zero_duration::rejected);
    read_duration(s, "ping_min_time", out.ping_min_time, zero_duration::allowed);
    if (!out.listen) {
        return;
    }
    if (!out.tls.enabled()) {
        throw config_error(s.path_of("tls"),
                           "cert_file and key_file are required when bosh.grpc.listen is set "
                           "(the egress is TLS only, as the original)");
    }
    if (!bosh.ingest_listen) {
        throw config_error(s.path_of("listen"),
                           "needs bosh.ingest_listen: the events come from the HM plugin");
    }
}

}  // namespace

bosh_config read_bosh_config(const YAML::Node& node, const std::string& path) {
    bosh_config out;
    const config_section s(
        node, path,
        {"ingest_listen", "max_line_bytes", "queue_size", "max_subscriptions",
         "subscription_idle_expiry", "heartbeat_staleness", "stream_keepalive", "auth", "uaa",
         "ingest_allow_remote", "ingest_max_connections", "ingest_idle_timeout", "queue_bytes",
         "labelled_subscriptions", "gauges_max_bytes", "metrics_auth", "grpc"});
    read_optional_address(s, "ingest_listen", out.ingest_listen);
    read_bool(s, "ingest_allow_remote", out.ingest_allow_remote);
    if (out.ingest_listen && !out.ingest_allow_remote &&
        !core::is_loopback_host(out.ingest_listen->host)) {
        throw config_error(
            s.path_of("ingest_listen"),
            fmt::format("\"{}\" is not a loopback address, and the HM ingest port is "
                        "unauthenticated: listen on 127.0.0.1, or set "
                        "bosh.ingest_allow_remote: true if every host that can reach it is "
                        "trusted to write BOSH events",
                        out.ingest_listen->to_string()));
    }
    read_uint(s, "ingest_max_connections", out.ingest_max_connections, 1, 100'000);
    read_duration(s, "ingest_idle_timeout", out.ingest_idle_timeout, zero_duration::rejected);
    read_byte_size(s, "max_line_bytes", out.max_line_bytes, 1024, std::uint64_t{1} << 30);
    read_uint(s, "queue_size", out.queue_size, 1, 10'000'000);
    read_byte_size(s, "queue_bytes", out.queue_bytes, 1024, std::uint64_t{1} << 40);
    if (out.queue_bytes < out.max_line_bytes) {
        throw config_error(s.path_of("queue_bytes"),
                           fmt::format("must be at least bosh.max_line_bytes ({}), or the "
                                       "longest accepted events could never be queued",
                                       out.max_line_bytes));
    }
    read_uint(s, "max_subscriptions", out.max_subscriptions, 1, 1'000'000);
    read_string_list(s, "labelled_subscriptions", out.labelled_subscriptions);
    for (std::size_t i = 0; i < out.labelled_subscriptions.size(); ++i) {
        const std::string& id = out.labelled_subscriptions[i];
        const std::string path = config_element_path(s.path_of("labelled_subscriptions"), i);
        if (id.empty() || id.size() > 256 || std::any_of(id.begin(), id.end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
            })) {
            throw config_error(path, "a subscription id is 1 to 256 printable characters");
        }
        if (id == "other") {
            throw config_error(path, "\"other\" is the label of every id not listed");
        }
    }
    if (out.labelled_subscriptions.size() > 100) {
        throw config_error(s.path_of("labelled_subscriptions"), "at most 100 ids");
    }
    read_byte_size(s, "gauges_max_bytes", out.gauges_max_bytes, 65536, std::uint64_t{1} << 40);
    read_duration(s, "subscription_idle_expiry", out.subscription_idle_expiry,
                  zero_duration::rejected);
    read_duration(s, "heartbeat_staleness", out.heartbeat_staleness, zero_duration::rejected);
    read_duration(s, "stream_keepalive", out.stream_keepalive, zero_duration::rejected);
    std::string auth;
    read_string(s, "auth", auth);
    if (auth == "check_token") {
        out.auth = auth_mode::check_token;
    } else if (auth == "jwt") {
        out.auth = auth_mode::jwt;
    } else if (!auth.empty()) {
        throw config_error(s.path_of("auth"),
                           fmt::format("'{}' is not one of check_token, jwt", auth));
    }
    std::string metrics_auth;
    read_string(s, "metrics_auth", metrics_auth);
    if (metrics_auth == "uaa") {
        out.metrics_auth = metrics_auth::uaa;
    } else if (metrics_auth == "none") {
        out.metrics_auth = metrics_auth::none;
    } else if (!metrics_auth.empty()) {
        throw config_error(s.path_of("metrics_auth"),
                           fmt::format("'{}' is not one of uaa, none", metrics_auth));
    }
    const config_section uaa(s.get("uaa"), s.path_of("uaa"),
                             {"url", "client_id", "client_secret", "ca_file", "timeout", "issuer"});
    read_string(uaa, "url", out.uaa.url);
    read_string(uaa, "client_id", out.uaa.client_id);
    read_string(uaa, "client_secret", out.uaa.client_secret);
    read_string(uaa, "ca_file", out.uaa.ca_file);
    read_duration(uaa, "timeout", out.uaa.timeout, zero_duration::rejected);
    read_string(uaa, "issuer", out.uaa.issuer);
    if (!out.uaa.url.empty() && out.uaa.client_id.empty()) {
        throw config_error(uaa.path_of("client_id"), "required when bosh.uaa.url is set");
    }
    if (!out.uaa.url.empty() && out.uaa.client_secret.empty()) {
        throw config_error(uaa.path_of("client_secret"), "required when bosh.uaa.url is set");
    }
    read_bosh_grpc(s.get("grpc"), s.path_of("grpc"), out);
    // Without UAA the HTTP streams refuse every token (403, saying why): heartbeats may be
    // ingested only for Loggregator or open gauges. A gRPC egress nobody could use is a mistake.
    if (out.grpc.listen && out.uaa.url.empty()) {
        throw config_error(uaa.path_of("url"),
                           "required when bosh.grpc.listen is set (subscribers are authorized "
                           "by UAA)");
    }
    return out;
}

bosh_service_options bosh_config::service_options() const {
    const bosh_config& b = *this;
    bosh_service_options settings;
    settings.ingest.host = b.ingest_listen->host;
    settings.ingest.port = b.ingest_listen->port;
    settings.ingest.allow_remote = b.ingest_allow_remote;
    settings.ingest.max_connections = b.ingest_max_connections;
    settings.ingest.idle_timeout = b.ingest_idle_timeout;
    settings.ingest.max_line_bytes = b.max_line_bytes;
    settings.distributor.queue_capacity = b.queue_size;
    settings.distributor.queue_bytes = b.queue_bytes;
    settings.labelled_subscriptions = b.labelled_subscriptions;
    settings.gauges.max_bytes = b.gauges_max_bytes;
    settings.metrics_access = b.metrics_auth;
    settings.distributor.max_subscriptions = b.max_subscriptions;
    settings.distributor.idle_expiry = b.subscription_idle_expiry;
    settings.gauges.staleness = b.heartbeat_staleness;
    settings.stream_keepalive = b.stream_keepalive;
    settings.auth.mode = b.auth;
    settings.auth.uaa_url = b.uaa.url;
    settings.auth.client_id = b.uaa.client_id;
    settings.auth.client_secret = b.uaa.client_secret;
    settings.auth.ca_file = b.uaa.ca_file;
    settings.auth.uaa_timeout = b.uaa.timeout;
    settings.auth.issuer = b.uaa.issuer;
    if (b.grpc.listen) {
        // Encoded once per event, for every gRPC stream of every subscription.
        settings.distributor.encode_grpc = encode_grpc_event_message;
    }
    return settings;
}

grpc_egress_options bosh_config::egress_options() const {
    const bosh_grpc_config& g = grpc;
    grpc_egress_options settings;
    settings.server.host = g.listen->host;
    settings.server.port = g.listen->port;
    settings.server.cert_file = g.tls.cert_file;
    settings.server.key_file = g.tls.key_file;
    settings.server.max_connections = g.max_connections;
    settings.server.connection.max_concurrent_streams = g.max_concurrent_streams;
    settings.server.connection.max_send_queue_bytes = g.send_queue_bytes;
    settings.server.connection.keepalive_time = g.keepalive_time;
    settings.server.connection.keepalive_timeout = g.keepalive_timeout;
    settings.server.connection.ping_policy.min_time = g.ping_min_time;
    return settings;
}

}  // namespace mgw::bosh
