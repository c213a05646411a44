// Test support for the C++ integration tests: a real nats-server process on 127.0.0.1, started
// and stopped by the test, and the loopback helpers that go with it (a free port, waiting for a
// condition). One copy for every test that needs a NATS peer, so that they start, wait for and
// stop the server the same way (SIGTERM, SIGKILL after 5 s, never left running).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mgw::integration {

// A loopback port nothing is bound to, below the Linux ephemeral range (32768+), as
// nats-server's own cluster tests advise: a port the kernel hands out for outgoing connections
// cannot be taken from under a server being restarted.
int free_port();
// Something accepts connections on 127.0.0.1:port.
bool port_open(int port);
// Polls `condition` every 20 ms until it holds or `timeout` has passed; its last answer.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// One nats-server on 127.0.0.1. The constructor starts it and returns once its client port
// accepts connections (std::runtime_error after 10 s); the destructor stops it.
class nats_server {
  public:
    // A plain server listening on `port`.
    explicit nats_server(int port);
    // A server from `config_file`, whose client port must be `port`; its stderr (the log) goes
    // to `log_file`.
    nats_server(int port, std::string config_file, std::string log_file);
    ~nats_server();
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    // Starts it again after stop(), with the same port and arguments.
    void start();
    // Sends `signal` (SIGKILL after 5 s if it is still running) and reaps the process.
    // Nothing when it is not running.
    void stop(int signal);
    void stop();  // SIGTERM

    int port() const { return port_; }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

  private:
    int port_;
    std::vector<std::string> args_;
    std::string log_file_;
    pid_t pid_ = -1;
};

}  // namespace mgw::integration
