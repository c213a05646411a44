// The running gateway: one io_context on N threads, the main and health listeners and every
// service the configuration enables, with the signal-driven drain. main() builds it and runs it.
#pragma once

#include <memory>

#include <mgw/core/log.hpp>
#include <mgw/gateway/config.hpp>

namespace mgw::gateway {

class gateway {
  public:
    // Binds nothing yet; throws only for configuration the modules reject.
    gateway(gateway_config config, core::logger& log);
    ~gateway();
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    // Binds the listeners (std::system_error when an address is taken), reports READY=1,
    // serves until SIGINT/SIGTERM/SIGUSR1, drains for shutdown.drain_timeout and returns the
    // process exit code: 0 after a complete drain, 1 when requests had to be cut off.
    int run();

  private:
    gateway_config config_;
    core::logger& log_;
};

}  // namespace mgw::gateway
