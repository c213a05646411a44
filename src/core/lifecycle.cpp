// Health state names and the signal watcher over boost::asio::signal_set.
#include <csignal>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mgw/core/lifecycle.hpp>

namespace mgw::core {

std::string_view to_string(health_state state) {
    switch (state) {
        case health_state::starting:
            return "starting";
        case health_state::ready:
            return "ready";
        case health_state::draining:
            return "draining";
    }
    return "starting";
}

std::string_view to_string(shutdown_signal signal) {
    switch (signal) {
        case shutdown_signal::interrupt:
            return "SIGINT";
        case shutdown_signal::terminate:
            return "SIGTERM";
        case shutdown_signal::degrade:
            return "SIGUSR1";
    }
    return "SIGTERM";
}

signal_watcher::signal_watcher(boost::asio::any_io_executor executor)
    : signals_(executor, SIGINT, SIGTERM, SIGUSR1) {}

boost::asio::awaitable<std::optional<shutdown_signal>> signal_watcher::wait() {
    const auto [ec, number] =
        co_await signals_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
        co_return std::nullopt;
    }
    switch (number) {
        case SIGINT:
            co_return shutdown_signal::interrupt;
        case SIGUSR1:
            co_return shutdown_signal::degrade;
        default:
            co_return shutdown_signal::terminate;
    }
}

void signal_watcher::cancel() {
    signals_.cancel();
}

}  // namespace mgw::core
