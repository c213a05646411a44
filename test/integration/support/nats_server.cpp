// The nats-server fixture: fork and exec of Debian's /usr/sbin/nats-server, readiness by
// connecting to its client port.
#include "nats_server.hpp"

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mgw::integration {

using namespace std::chrono_literals;

namespace {

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    return addr;
}

bool port_free(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    const sockaddr_in addr = loopback(port);
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

int free_port() {
    static std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(20000, 32000);
    for (int i = 0; i < 200; ++i) {
        const int port = pick(rng);
        if (port_free(port)) {
            return port;
        }
    }
    throw std::runtime_error("no free port below 32768");
}

bool port_open(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    const sockaddr_in addr = loopback(port);
    const bool open = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return open;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

nats_server::nats_server(int port)
    : port_(port), args_{"-a", "127.0.0.1", "-p", std::to_string(port)} {
    start();
}

nats_server::nats_server(int port, std::string config_file, std::string log_file)
    : port_(port), args_{"-c", std::move(config_file)}, log_file_(std::move(log_file)) {
    start();
}

nats_server::~nats_server() {
    stop();
}

void nats_server::start() {
    // Built before the fork: the child only execs.
    std::vector<char*> argv;
    std::string name = "nats-server";
    argv.push_back(name.data());
    for (std::string& arg : args_) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        if (!log_file_.empty() && std::freopen(log_file_.c_str(), "w", stderr) == nullptr) {
            ::_exit(126);
        }
        ::execv("/usr/sbin/nats-server", argv.data());
        ::_exit(127);
    }
    if (pid_ < 0 || !wait_until([this] { return port_open(port_); }, 10s)) {
        stop();
        throw std::runtime_error("nats-server did not start");
    }
}

void nats_server::stop(int signal) {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, signal);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 5s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
}

void nats_server::stop() {
    stop(SIGTERM);
}

}  // namespace mgw::integration
