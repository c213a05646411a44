// systemd readiness notification (sd_notify(3)) without libsystemd: one datagram to the unix
// socket named by $NOTIFY_SOCKET, so Type=notify units know when the gateway is ready or draining.
#pragma once

#include <string_view>

namespace mgw::core {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...", lines separated by '\n') to
// $NOTIFY_SOCKET: an absolute path, or "@name" for a Linux abstract socket. Like libsystemd's
// sd_notify: returns 1 when sent, 0 when NOTIFY_SOCKET is unset or empty (not run by systemd),
// and -errno on failure (-EAFNOSUPPORT for an address it cannot use). Never throws, never blocks.
int sd_notify(std::string_view state);

}  // namespace mgw::core
