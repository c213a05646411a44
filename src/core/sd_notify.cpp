// The sd_notify protocol is a single datagram on an AF_UNIX socket; nothing else from
// libsystemd is needed, so the gateway does not link it.
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mgw/core/sd_notify.hpp>

namespace mgw::core {

int sd_notify(std::string_view state) {
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (env == nullptr || *env == '\0') {
        return 0;
    }
    const std::string_view name(env);
    if (name.front() != '/' && name.front() != '@') {
        return -EAFNOSUPPORT;  // vsock and relative paths are not used with this gateway
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (name.size() > sizeof(address.sun_path) ||
        (name.front() == '/' && name.size() == sizeof(address.sun_path))) {
        return -ENAMETOOLONG;
    }
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name.front() == '@') {
        address.sun_path[0] = '\0';  // abstract namespace: the length, not a NUL, ends the name
    }
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                               (name.front() == '/' ? 1 : 0));

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    ssize_t sent = 0;
    do {
        sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(&address), length);
    } while (sent < 0 && errno == EINTR);
    const int error = sent < 0 ? errno : 0;
    ::close(fd);
    if (error != 0) {
        return -error;
    }
    return 1;
}

}  // namespace mgw::core
