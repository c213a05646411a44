// Process lifecycle: the health state served on /health and health_listen, the shutdown signals
// (SIGINT, SIGTERM, SIGUSR1), and systemd notification. main() does the sequencing.
#pragma once

#include <atomic>
#include <optional>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>

#include <mgw/core/sd_notify.hpp>

namespace mgw::core {

enum class health_state { starting, ready, draining };

std::string_view to_string(health_state state);

// Read by every health request on any thread, written by main(): a lock-free atomic.
class health {
  public:
    void set(health_state state) { state_.store(state, std::memory_order_release); }
    health_state get() const { return state_.load(std::memory_order_acquire); }
    // 200 on the health endpoints when true, 503 otherwise.
    bool is_ready() const { return get() == health_state::ready; }

  private:
    std::atomic<health_state> state_{health_state::starting};
};

enum class shutdown_signal {
    interrupt,  // SIGINT: drain and exit
    terminate,  // SIGTERM: drain and exit
    degrade,    // SIGUSR1 (BOSH drain script): health 503 at once, then drain and exit
};

// "SIGINT", "SIGTERM", "SIGUSR1".
std::string_view to_string(shutdown_signal signal);

// Owns the handlers of SIGINT, SIGTERM and SIGUSR1 from construction to destruction. Keep it
// alive until the process exits: the BOSH drain script sends SIGUSR1 again every few seconds
// while draining, and without a handler that signal would kill the process mid-drain.
class signal_watcher {
  public:
    explicit signal_watcher(boost::asio::any_io_executor executor);

    // The next signal; signals that arrive while nobody waits are queued by Asio. nullopt when
    // the wait was cancelled (cancel(), or the watcher destroyed).
    boost::asio::awaitable<std::optional<shutdown_signal>> wait();

    void cancel();

  private:
    boost::asio::signal_set signals_;
};

}  // namespace mgw::core
