// Reads the `scrape` section with the core YAML toolkit. Forwarded header names are checked as
// HTTP tokens here, at startup, rather than on every request.
#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include <mgw/core/config_reader.hpp>
#include <mgw/scrape/config.hpp>

namespace mgw::scrape {

namespace {

bool is_header_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

scraper_config scrape_config::scraper_options() const {
    scraper_config options;
    options.max_concurrency = max_concurrency;
    options.tls = tls;
    return options;
}

scrape_config read_scrape_config(const YAML::Node& node, const std::string& path) {
    scrape_config out;
    const core::config_section s(node, path,
                                 {"timeout", "max_concurrency", "forward_headers", "max_body_bytes",
                                  "label_collisions", "tls"});
    core::read_duration(s, "timeout", out.timeout, core::zero_duration::rejected);
    core::read_uint(s, "max_concurrency", out.max_concurrency, 1, 1'000'000);
    core::read_string_list(s, "forward_headers", out.forward_headers);
    for (std::size_t i = 0; i < out.forward_headers.size(); ++i) {
        const std::string& name = out.forward_headers[i];
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_header_token_char)) {
            throw core::config_error(core::config_element_path(s.path_of("forward_headers"), i),
                                     fmt::format("invalid header name \"{}\"", name));
        }
    }
    core::read_uint(s, "max_body_bytes", out.max_body_bytes, 1, std::uint64_t{1} << 32);
    std::string collisions;
    core::read_string(s, "label_collisions", collisions);
    if (collisions == "overwrite") {
        out.label_collisions = exposition::collision_policy::overwrite;
    } else if (collisions == "exported" || collisions.empty()) {
        out.label_collisions = exposition::collision_policy::rename_exported;
    } else {
        throw core::config_error(
            s.path_of("label_collisions"),
            fmt::format("invalid value \"{}\" (expected exported or overwrite)", collisions));
    }
    core::client_tls_config tls;
    core::read_client_tls(s.get("tls"), s.path_of("tls"), tls);
    out.tls = {.ca_file = tls.ca_file,
               .cert_file = tls.cert_file,
               .key_file = tls.key_file,
               .skip_verify = tls.skip_verify};
    return out;
}

}  // namespace mgw::scrape
