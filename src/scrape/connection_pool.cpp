// Idle keep-alive connections per endpoint, most recently used first.
#include <algorithm>
#include <functional>

#include <mgw/scrape/connection_pool.hpp>

namespace mgw::scrape {

std::size_t endpoint_key_hash::operator()(const endpoint_key& key) const noexcept {
    std::size_t h = std::hash<std::string>{}(key.host);
    h ^= std::hash<std::string>{}(key.server_name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= (static_cast<std::size_t>(key.port) << 1) | (key.tls ? 1u : 0u);
    return h;
}

std::unique_ptr<connection> connection_pool::acquire(const endpoint_key& key,
                                                     clock::time_point now) {
    std::vector<std::unique_ptr<connection>> stale;  // closed after unlocking
    std::unique_ptr<connection> found;
    {
        std::lock_guard lock(mutex_);
        const auto it = idle_.find(key);
        if (it == idle_.end()) {
            return nullptr;
        }
        idle_list& list = it->second;
        while (!list.empty()) {
            std::unique_ptr<connection> conn = std::move(list.back());
            list.pop_back();
            --idle_total_;
            if (expired(*conn, now)) {
                stale.push_back(std::move(conn));
                continue;
            }
            found = std::move(conn);
            break;
        }
        if (list.empty()) {
            idle_.erase(it);
        }
    }
    return found;
}

bool connection_pool::release(const endpoint_key& key, std::unique_ptr<connection> conn,
                              clock::time_point now) {
    conn->idle_since_ = now;
    std::lock_guard lock(mutex_);
    if (idle_total_ >= limits_.max_idle_total) {
        return false;
    }
    idle_list& list = idle_[key];
    if (list.size() >= limits_.max_idle_per_endpoint) {
        return false;
    }
    list.push_back(std::move(conn));
    ++idle_total_;
    return true;
}

void connection_pool::sweep(clock::time_point now) {
    std::vector<std::unique_ptr<connection>> stale;
    {
        std::lock_guard lock(mutex_);
        for (auto it = idle_.begin(); it != idle_.end();) {
            idle_list& list = it->second;
            // Oldest first: the list is ordered by release time.
            const auto fresh = std::find_if(list.begin(), list.end(),
                                            [&](const auto& c) { return !expired(*c, now); });
            for (auto c = list.begin(); c != fresh; ++c) {
                stale.push_back(std::move(*c));
            }
            idle_total_ -= static_cast<std::size_t>(fresh - list.begin());
            list.erase(list.begin(), fresh);
            it = list.empty() ? idle_.erase(it) : std::next(it);
        }
    }
}

std::size_t connection_pool::idle_count() const {
    std::lock_guard lock(mutex_);
    return idle_total_;
}

}  // namespace mgw::scrape
