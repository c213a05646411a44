// Health state, sd_notify over a real local unix datagram socket, and the signal watcher with
// signals raised in-process.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <mgw/core/lifecycle.hpp>

using mgw::core::health;
using mgw::core::health_state;
using mgw::core::sd_notify;
using mgw::core::shutdown_signal;
using mgw::core::signal_watcher;

namespace {

// A bound datagram socket standing in for systemd's notification socket.
class notify_listener {
  public:
    // `name` is a filesystem path, or starts with '@' for the abstract namespace.
    explicit notify_listener(const std::string& name) : name_(name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(name.size() < sizeof(address.sun_path));
        std::memcpy(address.sun_path, name.data(), name.size());
        socklen_t length = offsetof(sockaddr_un, sun_path) + name.size() + 1;
        if (name.front() == '@') {
            address.sun_path[0] = '\0';
            length -= 1;
        }
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0);
        timeval timeout{2, 0};
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0);
    }
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;
    ~notify_listener() {
        ::close(fd_);
        if (name_.front() == '/') {
            ::unlink(name_.c_str());
        }
    }

    std::string receive() {
        char buffer[512];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        REQUIRE(n >= 0);
        return std::string(buffer, static_cast<std::size_t>(n));
    }

  private:
    std::string name_;
    int fd_ = -1;
};

// Restores NOTIFY_SOCKET as the test found it.
class notify_env {
  public:
    notify_env() {
        if (const char* old = std::getenv("NOTIFY_SOCKET")) {
            old_ = old;
        }
    }
    notify_env(const notify_env&) = delete;
    notify_env& operator=(const notify_env&) = delete;
    ~notify_env() {
        if (old_) {
            ::setenv("NOTIFY_SOCKET", old_->c_str(), 1);
        } else {
            ::unsetenv("NOTIFY_SOCKET");
        }
    }
    void set(const std::string& value) { ::setenv("NOTIFY_SOCKET", value.c_str(), 1); }
    void unset() { ::unsetenv("NOTIFY_SOCKET"); }

  private:
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("health starts as starting and follows set", "[lifecycle]") {
    health h;
    CHECK(h.get() == health_state::starting);
    CHECK_FALSE(h.is_ready());
    h.set(health_state::ready);
    CHECK(h.get() == health_state::ready);
    CHECK(h.is_ready());
    h.set(health_state::draining);
    CHECK(h.get() == health_state::draining);
    CHECK_FALSE(h.is_ready());
    CHECK(mgw::core::to_string(health_state::starting) == "starting");
    CHECK(mgw::core::to_string(health_state::ready) == "ready");
    CHECK(mgw::core::to_string(health_state::draining) == "draining");
}

TEST_CASE("sd_notify is a no-op without NOTIFY_SOCKET", "[lifecycle]") {
    notify_env env;
    env.unset();
    CHECK(sd_notify("READY=1") == 0);
    env.set("");
    CHECK(sd_notify("READY=1") == 0);
}

TEST_CASE("sd_notify sends the state to a filesystem socket", "[lifecycle]") {
    notify_env env;
    const std::string path = "/tmp/mgw-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    notify_listener listener(path);
    env.set(path);
    CHECK(sd_notify("READY=1") == 1);
    CHECK(listener.receive() == "READY=1");
    CHECK(sd_notify("STOPPING=1\nSTATUS=draining") == 1);
    CHECK(listener.receive() == "STOPPING=1\nSTATUS=draining");
}

TEST_CASE("sd_notify sends the state to an abstract socket", "[lifecycle]") {
    notify_env env;
    const std::string name = "@mgw-notify-test-" + std::to_string(::getpid());
    notify_listener listener(name);
    env.set(name);
    CHECK(sd_notify("READY=1") == 1);
    CHECK(listener.receive() == "READY=1");
}

TEST_CASE("sd_notify reports unusable sockets as -errno", "[lifecycle]") {
    notify_env env;
    env.set("relative/path.sock");
    CHECK(sd_notify("READY=1") == -EAFNOSUPPORT);
    env.set("/tmp/mgw-notify-does-not-exist-" + std::to_string(::getpid()));
    CHECK(sd_notify("READY=1") == -ENOENT);
    env.set("/" + std::string(200, 'x'));
    CHECK(sd_notify("READY=1") == -ENAMETOOLONG);
}

TEST_CASE("signal_watcher reports SIGINT, SIGTERM and SIGUSR1 in order", "[lifecycle]") {
    boost::asio::io_context io;
    signal_watcher watcher(io.get_executor());
    std::vector<shutdown_signal> seen;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            for (int i = 0; i < 3; ++i) {
                const auto signal = co_await watcher.wait();
                REQUIRE(signal.has_value());
                seen.push_back(*signal);
            }
        },
        boost::asio::detached);
    // Runs handlers until `count` signals were seen, bounded in time.
    const auto run_until = [&](std::size_t count) {
        while (seen.size() < count && io.run_one_for(std::chrono::seconds(2)) != 0) {
        }
    };
    std::raise(SIGUSR1);
    run_until(1);
    REQUIRE(seen.size() == 1);
    std::raise(SIGTERM);
    run_until(2);
    REQUIRE(seen.size() == 2);
    std::raise(SIGINT);
    run_until(3);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == shutdown_signal::degrade);
    CHECK(seen[1] == shutdown_signal::terminate);
    CHECK(seen[2] == shutdown_signal::interrupt);
    CHECK(mgw::core::to_string(shutdown_signal::interrupt) == "SIGINT");
    CHECK(mgw::core::to_string(shutdown_signal::terminate) == "SIGTERM");
    CHECK(mgw::core::to_string(shutdown_signal::degrade) == "SIGUSR1");
}

TEST_CASE("signal_watcher::cancel ends a pending wait with nullopt", "[lifecycle]") {
    boost::asio::io_context io;
    signal_watcher watcher(io.get_executor());
    bool finished = false;
    std::optional<shutdown_signal> result = shutdown_signal::terminate;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            result = co_await watcher.wait();
            finished = true;
        },
        boost::asio::detached);
    io.poll();
    CHECK_FALSE(finished);
    watcher.cancel();
    io.run_for(std::chrono::seconds(2));
    CHECK(finished);
    CHECK_FALSE(result.has_value());
}
