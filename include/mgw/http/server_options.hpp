// HTTP server module: the knobs of one listener. http_config (http/config.hpp) builds them from
// the YAML config, so the server itself never sees configuration syntax.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mgw::http {

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: the kernel picks one (tests); see server::local_port()

    // TLS is on when both are set: PEM certificate chain and private key files.
    std::string tls_cert_file;
    std::string tls_key_file;

    std::size_t header_limit = std::size_t{16} << 10;  // request line + header fields; beyond: 431
    std::size_t body_limit = std::size_t{1} << 20;     // default per route; beyond: 413

    // A keep-alive connection with no request in progress is closed after `idle_timeout`;
    // it also bounds how long a client may take to send a complete header.
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
    // From the end of a request's header to the end of its response (body read, handler,
    // response write). Handlers see it as request_context::deadline().
    std::chrono::steady_clock::duration request_timeout = std::chrono::seconds(30);
    // Each write (a complete response, a stream's chunk, 100 Continue) must be taken by the
    // client within this, whatever the client asked for: one that does not read is cut off
    // (counted as write_timeout) instead of pinning the answer's memory. Zero: no limit.
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(10);
    // How long a handler cancelled with `total` cancellation (drain deadline) may take to wrap
    // up before its connection is closed under it.
    std::chrono::steady_clock::duration cancel_grace = std::chrono::seconds(1);

    std::size_t max_connections = 10'000;  // beyond: accepted, then closed at once (counted)
    std::size_t max_pipelined = 16;        // requests read ahead of the one being answered
    // Bytes (heads and bodies) those requests may hold: no further request is read ahead once
    // the queue holds this much, so a client pipelines small requests, not megabytes of bodies.
    std::size_t max_pipelined_bytes = std::size_t{1} << 20;

    std::size_t gzip_min_bytes = 1024;  // smaller complete bodies are sent uncompressed
    bool access_log = true;

    bool tls_enabled() const { return !tls_cert_file.empty() || !tls_key_file.empty(); }
};

}  // namespace mgw::http
