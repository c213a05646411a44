// The registry of connected clients, the apps they joined, and held pushes.
#include "client_registry.hpp"

#include <algorithm>

#include <mgw/text/ascii.hpp>

#include "proxy_metrics.hpp"

namespace mgw::rsocket {

client_registry::client_registry(registry_limits limits, proxy_counters& counters)
    : limits_(limits), counters_(counters) {}

bool client_registry::admit() {
    std::lock_guard lock(mutex_);
    if (stopped_ || open_ >= limits_.max_connections) {
        counters_.rejected.Increment();
        return false;
    }
    ++open_;
    counters_.connections.Set(static_cast<double>(open_));
    return true;
}

void client_registry::abandon() {
    std::lock_guard lock(mutex_);
    --open_;
    counters_.connections.Set(static_cast<double>(open_));
}

std::uint64_t client_registry::next_id() {
    std::lock_guard lock(mutex_);
    return next_id_++;
}

bool client_registry::add(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex_);
    if (stopped_) {
        return false;
    }
    all_.emplace(c->id(), c);
    return true;
}

void client_registry::ready(const std::shared_ptr<connection>& c, std::optional<client_app> app,
                            bool learn_from_labels) {
    std::lock_guard lock(mutex_);
    if (stopped_) {
        return;
    }
    ready_.emplace(c->id(), c);
    if (app) {
        apps_[c->id()] = std::move(*app);
    } else if (learn_from_labels) {
        learning_.insert(c->id());
    }
}

void client_registry::closed(std::uint64_t id, std::optional<leased_text> push,
                             clock::time_point now) {
    std::lock_guard lock(mutex_);
    ready_.erase(id);
    apps_.erase(id);
    learning_.erase(id);
    all_.erase(id);
    --open_;
    counters_.connections.Set(static_cast<double>(open_));
    if (!push) {
        return;
    }
    prune_held_pushes(now);
    const std::size_t size = push->text.size();
    if (size > limits_.max_held_push_bytes) {
        counters_.pushes.Add({{"outcome", "dropped"}}).Increment();
        return;
    }
    // The oldest go first: the newest push is the one most likely still wanted.
    while (!held_.empty() && (held_.size() >= limits_.max_held_pushes ||
                              held_bytes_ + size > limits_.max_held_push_bytes)) {
        drop_oldest_push("dropped");
    }
    held_bytes_ += size;
    held_.push_back({.push = std::move(*push), .expires = now + limits_.push_ttl});
}

void client_registry::drop_oldest_push(std::string_view outcome) {
    held_bytes_ -= held_.front().push.text.size();
    held_.pop_front();
    counters_.pushes.Add({{"outcome", std::string(outcome)}}).Increment();
}

std::vector<std::shared_ptr<connection>> client_registry::ready_clients() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<connection>> clients;
    clients.reserve(ready_.size());
    for (const auto& [id, c] : ready_) {
        clients.push_back(c);
    }
    return clients;
}

std::size_t client_registry::ready_count() const {
    std::lock_guard lock(mutex_);
    return ready_.size();
}

std::vector<client_registry::joined_client> client_registry::clients_of_app(
    std::string_view guid) const {
    std::lock_guard lock(mutex_);
    std::vector<joined_client> clients;
    for (const auto& [id, app] : apps_) {
        if (text::iequals(app.guid, guid)) {
            if (const auto c = ready_.find(id); c != ready_.end()) {
                clients.push_back({.client = c->second, .app = app});
            }
        }
    }
    return clients;
}

std::vector<std::string> client_registry::joined_apps() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> guids;
    for (const auto& [id, app] : apps_) {
        if (!ready_.contains(id)) {
            continue;
        }
        const bool seen = std::any_of(guids.begin(), guids.end(), [&](const std::string& g) {
            return text::iequals(g, app.guid);
        });
        if (!seen) {
            guids.push_back(app.guid);
        }
    }
    return guids;
}

proxy_status client_registry::status() const {
    proxy_status status;
    std::lock_guard lock(mutex_);
    status.open_connections = open_;
    status.ready_clients = ready_.size();
    status.held_pushes = held_.size();
    status.held_push_bytes = held_bytes_;
    for (const auto& [id, app] : apps_) {
        if (!ready_.contains(id)) {
            continue;
        }
        const auto same = std::find_if(status.apps.begin(), status.apps.end(),
                                       [&](const proxy_status::app_clients& a) {
                                           return text::iequals(a.app_guid, app.guid);
                                       });
        if (same != status.apps.end()) {
            ++same->clients;
        } else {
            status.apps.push_back({.app_guid = app.guid, .clients = 1});
        }
    }
    std::sort(status.apps.begin(), status.apps.end(),
              [](const auto& a, const auto& b) { return a.app_guid < b.app_guid; });
    return status;
}

void client_registry::leave_app(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    apps_.erase(id);
}

bool client_registry::learning(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    return learning_.contains(id);
}

std::optional<bool> client_registry::learn(std::uint64_t id, std::string guid) {
    std::lock_guard lock(mutex_);
    if (learning_.erase(id) == 0 || !ready_.contains(id)) {
        return std::nullopt;
    }
    if (guid.empty()) {
        return false;
    }
    apps_[id] = {.guid = std::move(guid),
                 .how = client_app::grounds::declared_labels,
                 .access_key = {},
                 .binding_labels = {}};
    return true;
}

void client_registry::prune_held_pushes(clock::time_point now) {
    while (!held_.empty() && held_.front().expires <= now) {
        drop_oldest_push("expired");
    }
}

std::vector<leased_text> client_registry::take_held_pushes(clock::time_point now) {
    std::lock_guard lock(mutex_);
    prune_held_pushes(now);
    std::vector<leased_text> pushes;
    pushes.reserve(held_.size());
    for (held_push& p : held_) {
        pushes.push_back(std::move(p.push));
    }
    held_.clear();
    held_bytes_ = 0;
    if (!pushes.empty()) {
        counters_.pushes.Add({{"outcome", "served"}}).Increment(static_cast<double>(pushes.size()));
    }
    return pushes;
}

std::vector<std::shared_ptr<connection>> client_registry::stop() {
    std::vector<std::shared_ptr<connection>> open;
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [id, weak] : all_) {
        if (auto c = weak.lock()) {
            open.push_back(std::move(c));
        }
    }
    return open;
}

}  // namespace mgw::rsocket
