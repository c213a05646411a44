// Reads the `http` section with the core YAML toolkit, and turns it into a listener's options.
#include <limits>

#include <mgw/http/config.hpp>

namespace mgw::http {

using core::config_section;
using core::read_duration;
using core::read_uint;
using core::zero_duration;

server_options http_config::listener(const core::listen_address& address,
                                     const core::server_tls_config& tls, bool access_log) const {
    server_options options;
    options.host = address.host;
    options.port = address.port;
    options.tls_cert_file = tls.cert_file;
    options.tls_key_file = tls.key_file;
    options.header_limit = header_limit;
    options.body_limit = body_limit;
    options.idle_timeout = idle_timeout;
    options.request_timeout = request_timeout;
    options.max_connections = max_connections;
    options.max_pipelined = max_pipelined;
    options.gzip_min_bytes = gzip_min_bytes;
    options.write_timeout = write_timeout;
    options.max_pipelined_bytes = max_pipelined_bytes;
    options.access_log = access_log;
    return options;
}

http_config read_http_config(const YAML::Node& node, const std::string& path) {
    http_config out;
    const config_section s(
        node, path,
        {"header_limit", "body_limit", "idle_timeout", "request_timeout", "max_connections",
         "max_pipelined", "gzip_min_bytes", "write_timeout", "max_pipelined_bytes"});
    read_uint(s, "header_limit", out.header_limit, 1024, std::uint64_t{1} << 20);
    read_uint(s, "body_limit", out.body_limit, 1, std::uint64_t{1} << 32);
    read_duration(s, "idle_timeout", out.idle_timeout, zero_duration::rejected);
    read_duration(s, "request_timeout", out.request_timeout, zero_duration::rejected);
    read_uint(s, "max_connections", out.max_connections, 1, 1'000'000);
    read_uint(s, "max_pipelined", out.max_pipelined, 1, 1024);
    read_uint(s, "gzip_min_bytes", out.gzip_min_bytes, 0,
              std::numeric_limits<std::uint32_t>::max());
    read_duration(s, "write_timeout", out.write_timeout, zero_duration::allowed);
    read_uint(s, "max_pipelined_bytes", out.max_pipelined_bytes, 1024, std::uint64_t{1} << 32);
    return out;
}

}  // namespace mgw::http
