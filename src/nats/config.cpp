// Reads the `nats` section with the core YAML toolkit into the client's options; TLS is on as
// soon as a CA or a client certificate is given.
#include <mgw/core/config_reader.hpp>
#include <mgw/nats/config.hpp>

namespace mgw::nats {

client_options read_nats_config(const YAML::Node& node, const std::string& path) {
    client_options out;
    const core::config_section s(node, path, {"servers", "user", "password", "tls"});
    core::read_string_list(s, "servers", out.servers);
    for (std::size_t i = 0; i < out.servers.size(); ++i) {
        if (out.servers[i].empty()) {
            throw core::config_error(core::config_element_path(s.path_of("servers"), i),
                                     "must not be empty");
        }
    }
    core::read_string(s, "user", out.user);
    core::read_string(s, "password", out.password);
    core::client_tls_config tls;
    core::read_client_tls(s.get("tls"), s.path_of("tls"), tls);
    out.tls = {.enabled = !tls.ca_file.empty() || !tls.cert_file.empty(),
               .ca_file = tls.ca_file,
               .cert_file = tls.cert_file,
               .key_file = tls.key_file,
               .skip_verify = tls.skip_verify};
    return out;
}

}  // namespace mgw::nats
