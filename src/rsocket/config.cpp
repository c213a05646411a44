// Reads the `rsocket` section with the core YAML toolkit, and turns it into the proxy's options.
#include <mgw/core/config_reader.hpp>
#include <mgw/rsocket/config.hpp>

namespace mgw::rsocket {

using core::config_section;
using core::read_bool;
using core::read_byte_size;
using core::read_duration;
using core::read_optional_address;
using core::read_uint;
using core::zero_duration;

proxy_options rsocket_config::proxy(std::chrono::milliseconds scrape_timeout) const {
    const rsocket_config& r = *this;
    proxy_options options;
    options.tcp_listen = r.tcp_listen;
    options.websocket_listen = r.websocket_listen;
    options.scrape_timeout = scrape_timeout;
    options.push_ttl = r.push_ttl;
    options.max_connections = r.max_connections;
    options.connection.read.max_frame_bytes = r.max_frame_bytes;
    options.keys.bits = static_cast<int>(r.key_bits);
    options.keys.threads = r.key_threads;
    options.keys.schedule.stock = r.key_stock;
    options.keys.schedule.max_shares = r.key_share_max_connections;
    options.keys.schedule.wait_target = r.key_wait_target;
    options.keys.schedule.max_waiting = r.max_connections;  // each waiter is an open connection
    options.connection.max_text_bytes = r.max_text_bytes;
    options.connection.limits.max_reassembly_bytes = r.max_text_bytes;
    options.trust_declared_app_identity = r.trust_declared_app_identity;
    options.connection.setup_timeout = r.setup_timeout;
    options.connection.frame_timeout = r.frame_timeout;
    options.connection.max_connection_bytes = r.max_connection_bytes;
    options.max_held_push_bytes = r.max_held_push_bytes;
    return options;
}

rsocket_config read_rsocket_config(const YAML::Node& node, const std::string& path) {
    rsocket_config out;
    const config_section s(
        node, path,
        {"tcp_listen", "websocket_listen", "push_ttl", "max_frame_bytes", "max_text_bytes",
         "max_connections", "key_bits", "key_threads", "key_stock", "key_share_max_connections",
         "key_wait_target", "trust_declared_app_identity", "setup_timeout", "frame_timeout",
         "max_connection_bytes", "max_held_push_bytes"});
    read_optional_address(s, "tcp_listen", out.tcp_listen);
    read_optional_address(s, "websocket_listen", out.websocket_listen);
    read_duration(s, "push_ttl", out.push_ttl, zero_duration::rejected);
    read_uint(s, "max_frame_bytes", out.max_frame_bytes, 64, 16777215);
    read_uint(s, "max_text_bytes", out.max_text_bytes, 1024, std::uint64_t{1} << 32);
    read_uint(s, "max_connections", out.max_connections, 1, 1'000'000);
    read_uint(s, "key_bits", out.key_bits, 1024, 8192);
    read_uint(s, "key_threads", out.key_threads, 0, 256);
    read_uint(s, "key_stock", out.key_stock, 0, 1024);
    read_uint(s, "key_share_max_connections", out.key_share_max_connections, 1, 100'000);
    read_duration(s, "key_wait_target", out.key_wait_target, zero_duration::allowed);
    read_bool(s, "trust_declared_app_identity", out.trust_declared_app_identity);
    read_duration(s, "setup_timeout", out.setup_timeout, zero_duration::rejected);
    read_duration(s, "frame_timeout", out.frame_timeout, zero_duration::rejected);
    read_byte_size(s, "max_connection_bytes", out.max_connection_bytes, std::uint64_t{64} << 10,
                   std::uint64_t{1} << 40);
    read_byte_size(s, "max_held_push_bytes", out.max_held_push_bytes, 0, std::uint64_t{1} << 40);
    return out;
}

}  // namespace mgw::rsocket
