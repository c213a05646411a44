// The registry's mutex is only held for map updates, never across I/O.
#include "connection_registry.hpp"

#include <boost/asio/post.hpp>

namespace mgw::http {

std::uint64_t connection_registry::add(std::weak_ptr<connection_base> connection, bool& draining) {
    std::lock_guard lock(mutex_);
    auto id = next_id_++;
    connections_.emplace(id, std::move(connection));
    draining = draining_;
    return id;
}

void connection_registry::remove(std::uint64_t id) {
    std::shared_ptr<boost::asio::steady_timer> waiter;
    {
        std::lock_guard lock(mutex_);
        connections_.erase(id);
        if (connections_.empty()) {
            waiter = empty_waiter_;
        }
    }
    if (waiter) {
        // Timers are not thread-safe: wake the waiter on its own (strand) executor.
        boost::asio::post(waiter->get_executor(), [waiter] { waiter->cancel(); });
    }
}

std::size_t connection_registry::size() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

std::vector<std::shared_ptr<connection_base>> connection_registry::begin_drain() {
    {
        std::lock_guard lock(mutex_);
        draining_ = true;
    }
    return snapshot();
}

std::vector<std::shared_ptr<connection_base>> connection_registry::snapshot() const {
    std::vector<std::shared_ptr<connection_base>> out;
    std::lock_guard lock(mutex_);
    out.reserve(connections_.size());
    for (const auto& [id, weak] : connections_) {
        if (auto c = weak.lock()) {
            out.push_back(std::move(c));
        }
    }
    return out;
}

void connection_registry::notify_empty(std::shared_ptr<boost::asio::steady_timer> waiter) {
    std::lock_guard lock(mutex_);
    empty_waiter_ = std::move(waiter);
}

}  // namespace mgw::http
