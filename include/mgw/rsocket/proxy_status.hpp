// RSocket module: what the status console shows of the proxy. Its own header because the
// gateway's status page renders it and the client registry fills it, neither of which needs
// the proxy itself.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mgw::rsocket {

// Plain values copied under the registry's lock.
struct proxy_status {
    std::size_t open_connections = 0;  // admitted, ready or not
    std::size_t ready_clients = 0;     // pulled by /metrics/connected
    std::size_t held_pushes = 0;       // last pushes of closed clients, kept for one scrape
    std::size_t held_push_bytes = 0;
    struct app_clients {
        std::string app_guid;  // as the clients spelled it
        std::size_t clients = 0;
    };
    std::vector<app_clients> apps;  // ready clients joined to each app, by GUID
};

}  // namespace mgw::rsocket
